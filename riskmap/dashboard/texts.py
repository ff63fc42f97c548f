"""The Dutch texts of the dashboard that do not come from the store or the catalogue."""

from __future__ import annotations

from babel.lists import format_list

THEME_DESCRIPTIONS = {
    "totaal": "De totaalscore combineert de thema's met hun gewicht uit de projectinstellingen. "
              "Een hoge score betekent: meer signalen en omstandigheden die samengaan met "
              "ondermijning dan in de andere gebieden van de gemeente – geen bewijs van "
              "criminaliteit.",
    "drugs": "Drugsproductie en -handel: ontmantelde hennepkwekerijen, sluitingen op grond van "
             "de Opiumwet (Damocles), meldingen over drugs en geregistreerde "
             "Opiumwetmisdrijven.",
    "criminogene_branches": "Branches die vaker worden misbruikt om geld wit te wassen of "
                            "criminaliteit te faciliteren (autobranche, opslag, kapsalons, "
                            "nagelstudio's, belwinkels, horeca, vastgoed, transport), en hoe snel "
                            "bedrijven daar komen en gaan.",
    "mensenhandel": "Signalen van mensenhandel en arbeidsuitbuiting: meldingen, en branches en "
                    "adressen waar uitbuiting vaker voorkomt (massagesalons, nagelstudio's, "
                    "uitzendbureaus, veel bedrijven op één adres).",
    "vastgoed": "Misbruik van vastgoed: adresfraude, huisjesmelkerij, leegstand en particuliere "
                "verhuur, en Bibob-uitkomsten bij vastgoed.",
    "kwetsbaarheid": "Sociaaleconomische kwetsbaarheid van bewoners (CBS): laag inkomen, "
                     "bijstand, jongeren, woningwaarde, verhuizingen. Geen signaal van "
                     "criminaliteit, wel van ontvankelijkheid voor werving.",
    "gelegenheid": "Gelegenheidsstructuren: gebieden met weinig sociale controle en veel "
                   "gelegenheid – opslag en transport, bedrijfspanden zonder actieve vestiging, "
                   "eenmanszaken, veel wisselingen van bedrijven, controles met bevindingen, "
                   "permanente bewoning, hennep en meldingen. Welke indicatoren meetellen, "
                   "verschilt per soort gebied.",
    "witwassen": "Witwassen: meldingen, kasintensieve branches en branches met veel omzet en "
                 "weinig zicht, vestigingen die van eigenaar, naam of activiteit wisselen, "
                 "opvolging op één adres, veel inschrijvingen op één adres en kortlevende "
                 "vestigingen in risicobranches.",
    "zorg": "Zorgfraude: zorgvestigingen (SBI 86–88) met nevenactiviteiten in risicobranches of "
            "zonder zorg, veel zorginschrijvingen op één adres en kortlevende zorgvestigingen.",
}
SOURCE_LABELS = {"cbs": "CBS", "police": "Politie (via CBS)", "kvk": "KvK-handelsregister",
                 "bag": "BAG", "registers": "Eigen registers gemeente"}
METHOD_LINES = [
    "Scores volgen het OECD/JRC-handboek voor samengestelde indicatoren: indicatoren worden "
    "genormaliseerd, per thema gewogen en samengevoegd tot een themascore en een totaalscore.",
    "De rang heeft een 5–95%-interval: de score is vele keren opnieuw berekend met andere "
    "gewichten en normalisaties. Overlappende intervallen betekenen dat de volgorde onzeker is.",
    "Indexen: gemeente = 100 vergelijkt een gebied met de hele gemeente; Nederland = 100 "
    "vergelijkt met heel Nederland (alleen voor indicatoren uit CBS-cijfers).",
    "Hotspots (Getis-Ord Gi*) zijn buurten die samen met hun buren significant hoger (of lager) "
    "scoren dan verwacht, na correctie voor meervoudig toetsen (Benjamini-Hochberg). "
    "Opkomende hotspots beschrijven het patroon over de kwartalen.",
    "Kleurklassen liggen vast (0–20, 20–40, …, 80–100), zodat kleuren tussen kwartalen en "
    "thema's te vergelijken zijn.",
]


def search_placeholder(labels: list[str]) -> str:
    """The search box's hint naming every level, e.g. ``Zoek een buurt, wijk, bedrijventerrein
    of vakantiepark`` (``labels``: the analysis-area types' singular names)."""
    names = ["buurt", "wijk", *(label.lower() for label in labels)]
    return f"Zoek een {format_list(names, style='or', locale='nl_NL')}"
