"""MkDocs hook: the built site must open without a network.

The theme's web fonts are off (``font: false`` in mkdocs.yml) and no page may load a script, a
stylesheet, an image or a font from another host: the manual is read from ``site/`` on a machine
that may have no internet (and CI builds it on one). Plain links to other sites are fine; only
resources the browser would fetch on its own are refused, and the build fails naming the page.
"""

from __future__ import annotations

import re

from mkdocs.exceptions import PluginError

# src="http..." on script/img/iframe/source, href="http..." on <link> (stylesheets, fonts, preloads),
# and url(http...) inside inline styles.
_REMOTE = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=[\"']?(?:https?:)?//"
    r"|<link\b[^>]*\bhref=[\"']?(?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//",
    re.I,
)


def remote_resources(html: str) -> list[str]:
    """The tags (or CSS ``url()`` calls) in ``html`` that would load something from another host."""
    return [html[m.start():html.find(">", m.start()) + 1 or m.end()][:200] for m in _REMOTE.finditer(html)]


def on_post_page(output: str, page, config) -> str:  # noqa: ANN001 - MkDocs' hook signature
    found = remote_resources(output)
    if found:
        raise PluginError(f"{page.file.src_uri}: loads from the network, the site must open offline: {found}")
    return output
