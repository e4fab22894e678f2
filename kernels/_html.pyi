"""Types of the compiled HTML extractor (kernels/_html.pyx); the public API is kernels.html."""

def extract(data: bytes, base_url: bytes) -> tuple[str, str, str, str, list[str], list[str]]:
    """(title, description, lang, text, links_internal, links_external) of UTF-8 HTML bytes."""

def extract_timed(data: bytes, base_url: bytes) -> tuple[tuple, int]:
    """Bench aid: (extract's result, CPU nanoseconds this thread spent with the GIL released)."""

def flag_values() -> dict[str, int]:
    """Test aid: the flag values this module computes with (a copy of html_rules.FLAGS)."""

def _debug(data: bytes, base_url: bytes) -> tuple[list[tuple], list[tuple]]: ...
def _set(name: str, value: int) -> None: ...
