"""Types of the compiled HTML extractor (kernels/_html.pyx); the public API is kernels.html."""

def extract(data: bytes, base_url: bytes) -> tuple[str, str, str, str, list[str], list[str]]:
    """(title, description, lang, text, links_internal, links_external) of UTF-8 HTML bytes."""

def _debug(data: bytes, base_url: bytes) -> tuple[list[tuple], list[tuple]]: ...
def _set(name: str, value: int) -> None: ...
