# base: 19_decode_amplification.py
"""Issue 12, class 5: every reply but the import status is a handcrafted frame of 30 000
records, each with a field name of its own (1.3 MB on the wire): a decoder that builds a
namedtuple class per record spends seconds of the trusted runner's CPU on each, outside
every deadline. Delivered as in case 19 (the worker's encoder replaced), with this frame."""


def _crafted() -> bytes:
    records = [{"__record__": [f"f{i}"], "values": [0]} for i in range(30_000)]
    return _frame({"__dict__": {"ok": records}}, [])
