"""Message catalogues: ``python scripts/i18n.py update`` then ``compile``.

``update`` collects every msgid (the constants of :mod:`aidflow.i18n.messages`, domain values,
event names, error codes) into ``aidflow/i18n/locale/aidflow.pot`` and merges it into each
language's ``.po`` (new messages arrive untranslated; a test fails until they are
translated). ``compile`` writes the ``.mo`` files shipped as package data.
``check`` exits 1 when a message lacks a translation or a ``.mo`` is stale.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aidflow.i18n import DOMAIN, EVENT, LANGUAGES, LOCALE_DIR
from scripts.i18n_sources import messages

POT = LOCALE_DIR / f"{DOMAIN}.pot"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def template() -> Catalog:
    catalog = Catalog(project="aidflow", domain=DOMAIN)
    for context, msgid, where in messages():
        catalog.add(msgid, context=context, auto_comments=[where])
    return catalog


def update() -> None:
    pot = template()
    with POT.open("wb") as out:
        write_po(out, pot, omit_header=False, sort_output=False)
    for lang in LANGUAGES:
        if lang == "en":
            continue
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as src:
                catalog = read_po(src, locale=lang)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN, project="aidflow")
        catalog.update(pot, no_fuzzy_matching=True)
        with path.open("wb") as out:
            write_po(out, catalog, ignore_obsolete=True, sort_output=False, width=100)


def compiled(lang: str) -> bytes:
    with po_path(lang).open("rb") as src:
        catalog = read_po(src, locale=lang)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def compile_all() -> None:
    for lang in LANGUAGES:
        if lang != "en":
            po_path(lang).with_suffix(".mo").write_bytes(compiled(lang))


def missing(lang: str) -> list[str]:
    with po_path(lang).open("rb") as src:
        catalog = read_po(src, locale=lang)
    have = {(m.context, m.id): m.string for m in catalog if m.id and m.string and not m.fuzzy}
    return [
        f"{where}: {msgid!r}" + (f" ({context})" if context else "")
        for context, msgid, where in messages()
        if not have.get((context, msgid))
    ]


def check() -> int:
    problems = []
    for lang in LANGUAGES:
        if lang == "en":
            continue
        problems += [f"{lang}: no translation: {m}" for m in missing(lang)]
        mo = po_path(lang).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(lang):
            problems.append(f"{lang}: {mo} is stale: run python scripts/i18n.py compile")
    print("\n".join(problems) or "catalogues complete")
    return 1 if problems else 0


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "update":
        update()
    elif action == "compile":
        compile_all()
    else:
        sys.exit(check())
    _ = EVENT
