import streamal


def test_all_is_sorted_and_exported():
    assert streamal.__all__ == sorted(streamal.__all__)
    public = {n for n in dir(streamal) if not n.startswith("_") or n == "__version__"}
    modules = {n for n in public if type(getattr(streamal, n)).__name__ == "module"}
    assert set(streamal.__all__) == public - modules - {"annotations"}
