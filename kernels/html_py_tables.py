"""Pure twin, tables: html_rules' flags, tag ids and hint patterns as bytes (_html_tables.pxd)."""
from __future__ import annotations

from agentcore.kernels import html_rules as R

BLOCK, VOID, RAW, SKIP, NEG, POS = R.BLOCK, R.VOID, R.RAW, R.SKIP, R.NEG, R.POS
HEADING, LIST_ITEM, PRE, CLOSES_P, LINK = R.HEADING, R.LIST_ITEM, R.PRE, R.CLOSES_P, R.LINK
GRID = R.GRID
INHERITED = R.INHERITED
NF_NEG, NF_POS, NF_ARTICLE, NF_BODYPROP = R.NF_NEG, R.NF_POS, R.NF_ARTICLE, R.NF_BODYPROP
NF_UNDER_NEG, NF_WEAK_NEG, NF_SEMANTIC = R.NF_UNDER_NEG, R.NF_WEAK_NEG, R.NF_SEMANTIC

TAG_FLAGS = [flags for _, flags in R.TAGS]
TAG_BY_NAME = {name.encode(): i for i, (name, _) in enumerate(R.TAGS) if i}
TAG_NAME = [name.encode() for name, _ in R.TAGS]
T = R.TAG_ID
T_HTML, T_BODY, T_TITLE, T_META, T_BASE, T_A, T_BR, T_P = (
    T["html"], T["body"], T["title"], T["meta"], T["base"], T["a"], T["br"], T["p"])
T_LI, T_UL, T_OL, T_DL, T_DT, T_DD = T["li"], T["ul"], T["ol"], T["dl"], T["dt"], T["dd"]
T_TD, T_TH, T_TR, T_TABLE = T["td"], T["th"], T["tr"], T["table"]
T_THEAD, T_TBODY, T_MENU, T_OPTION, T_PLAINTEXT = (
    T["thead"], T["tbody"], T["menu"], T["option"], T["plaintext"])

ENTITIES = dict(R.ENTITIES)
LEGACY = {b"amp": b"&", b"lt": b"<", b"gt": b">", b"quot": b'"', b"nbsp": b" "}
HINTS = [(pat.encode(), bit) for pat, bit in R.HINTS]
