"""Test helper: ask a local web for each of its plain pages once, so crawls under test meet warm pages."""
import http.client


def warm(server, kinds=("home", "ok", "near_duplicate")) -> None:
    """A cold server renders its first pages slowly, which on a loaded machine looks like
    timeouts; leave "flaky" out of ``kinds`` to keep its one 503 for the crawl."""
    for page in server.web.pages(include_home=True):
        if page.kind in kinds:
            host = page.url.split("/")[2]
            addr, port = server.host_map()[host]
            conn = http.client.HTTPConnection(addr, port, timeout=30)
            conn.request("GET", "/" + page.url.split("/", 3)[3], headers={"Host": host})
            conn.getresponse().read()
            conn.close()
