# base: solution
"""Case 9: the solution, but it ignores SIGALRM, SIGTERM, SIGINT and SIGHUP, kmeans_loss
spins forever and quantize_image sleeps forever. The other parts are honest and must
still be scored."""
import signal
import time

for _sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, signal.SIG_IGN)


def kmeans_loss(data, centroids):
    while True:
        pass


def quantize_image(image, centroids):
    while True:
        time.sleep(1)
