"""Dutch for click's own words: usage line, help headings, type names and its errors.

Click wraps every message of its own in gettext (``from gettext import gettext as _`` in each
module) so that an application can translate them along with its own (pallets/click#2320).
riskmap's console is Dutch whatever the machine's locale, so :func:`install` points those hooks
at this catalogue; a message missing from it stays as click wrote it.
"""

from __future__ import annotations

from typing import Any

import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types
import click.utils

MESSAGES = {
    "Usage:": "Gebruik:",
    "Options": "Opties",
    "Commands": "Opdrachten",
    "Positional arguments": "Argumenten",
    "Show the version and exit.": "Toon de versie en stop.",
    "Show this message and exit.": "Toon deze hulp en stop.",
    "required": "verplicht",
    "default: {default}": "standaard: {default}",
    "env var: {var}": "omgevingsvariabele: {var}",
    "(dynamic)": "(wisselend)",
    "deprecated": "verouderd",
    "Missing argument": "Ontbrekend argument",
    "Missing option": "Ontbrekende optie",
    "Missing parameter": "Ontbrekende parameter",
    "Missing {param_type}": "Ontbrekende {param_type}",
    "Missing parameter: {param_name}": "Ontbrekende parameter: {param_name}",
    "Missing command.": "Geen opdracht gegeven.",
    "No such command {name!r}.": "Onbekende opdracht {name!r}.",
    "No such option {name!r}.": "Onbekende optie {name!r}.",
    "Option {name!r} does not take a value.": "Optie {name!r} neemt geen waarde.",
    "Invalid value for {param_hint}: {message}": "Ongeldige waarde voor {param_hint}: {message}",
    "Invalid value: {message}": "Ongeldige waarde: {message}",
    "Argument {name!r} takes {nargs} values.": "Argument {name!r} neemt {nargs} waarden.",
    "{value!r} is not a valid {number_type}.": "{value!r} is geen geldig {number_type}.",
    "{value} is not in the range {range}.": "{value} ligt niet in het bereik {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} is geen geldige ja/nee-waarde. Herkende waarden: {states}",
    "Value must be an iterable.": "De waarde moet een reeks zijn.",
    "Choose from:\n\t{choices}": "Kies uit:\n\t{choices}",
    "Could not open file {filename!r}: {message}": "Bestand {filename!r} is niet te openen: {message}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} bestaat niet.",
    "{name} {filename!r} is a file.": "{name} {filename!r} is een bestand.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} is een map.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} is niet leesbaar.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} is niet schrijfbaar.",
    "file": "bestand",
    "directory": "map",
    "path": "pad",
    "unknown error": "onbekende fout",
    "Aborted!": "Afgebroken.",
    "Error: {message}": "Fout: {message}",
    "Try '{command} {option}' for help.": "Zie '{command} {option}' voor hulp.",
}
# singular msgid -> (Dutch singular, Dutch plural)
PLURALS = {
    "Got unexpected extra argument ({args})":
        ("Onverwacht extra argument ({args})", "Onverwachte extra argumenten ({args})"),
    "Option {name!r} requires an argument.":
        ("Optie {name!r} vraagt een waarde.", "Optie {name!r} vraagt {nargs} waarden."),
    "{value!r} is not {choice}.": ("{value!r} is niet {choice}.", "{value!r} is geen van {choices}."),
    "Did you mean {possibility}?":
        ("Bedoelde u {possibility}?", "(Bedoelde u een van: {possibilities}?)"),
    "Takes {nargs} values but 1 was given.":
        ("Neemt {nargs} waarden, maar er is er 1 gegeven.",
         "Neemt {nargs} waarden, maar er zijn er {len} gegeven."),
}
# the names click shows as metavar (``--capacity GETAL``) and in "is geen geldig ..."
TYPE_NAMES = {
    click.types.StringParamType: "tekst",
    click.types.IntParamType: "getal",
    click.types.IntRange: "getal",
    click.types.FloatParamType: "getal",
    click.types.FloatRange: "getal",
    click.types.BoolParamType: "ja/nee",
}
_MODULES = (click.core, click.decorators, click.exceptions, click.formatting, click.parser,
            click.termui, click.types, click.utils)


class Command(click.Command):
    """A command whose usage line reads ``[OPTIES]``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[OPTIES]")
        super().__init__(*args, **kwargs)


class Group(click.Group):
    """A group whose usage line reads ``[OPTIES] OPDRACHT [ARGUMENTEN]...``, and whose commands
    and subgroups do the same."""

    command_class = Command
    group_class = type  # subgroups are of this class too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[OPTIES]")
        kwargs.setdefault("subcommand_metavar", "OPDRACHT [ARGUMENTEN]...")
        super().__init__(*args, **kwargs)


def gettext(message: str) -> str:
    """The Dutch text of one of click's messages (the message itself when there is none)."""
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The Dutch singular or plural of one of click's messages."""
    one, many = PLURALS.get(singular, (singular, plural))
    return one if n == 1 else many


def install() -> None:
    """Let click speak Dutch (idempotent)."""
    for module in _MODULES:
        if hasattr(module, "_"):
            setattr(module, "_", gettext)  # noqa: B010 - click's own gettext hook
        if hasattr(module, "ngettext"):
            setattr(module, "ngettext", ngettext)  # noqa: B010
    for kind, name in TYPE_NAMES.items():
        kind.name = name
