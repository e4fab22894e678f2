"""Test helper: the Fetcher options for each HTTP client name the fetch tests take."""


def via(transport: str) -> dict:
    """"curl" is the curl fetcher in its own process (the default), "curl-thread" the same
    fetcher on a thread of this process; any other name is ``FetchConfig.transport`` itself."""
    if transport == "curl-thread":
        return {"transport": "curl", "curl_process": False}
    return {"transport": transport}
