"""Static vocabulary of a Microsoft 365 tenant: first-party apps, client software, error codes, names.

App ids are Microsoft's public first-party application ids; failure reasons follow the Entra
error-code reference (AADSTS). User agents are built per device with varying versions so that
nothing downstream can key on one fixed string.
"""

from __future__ import annotations

import bisect
import itertools

import numpy as np

GRAPH = ("00000003-0000-0000-c000-000000000000", "Microsoft Graph")
EXO = ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online")
SPO = ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online")
AAD = ("00000002-0000-0000-c000-000000000000", "Windows Azure Active Directory")
ARM = ("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API")
TEAMS_SVC = ("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Microsoft Teams Services")
WCSS = ("5f09333a-842c-47da-a157-57da27fcbca5", "Office365 Shell WCSS-Server")

# name -> (appId, resource)
APPS: dict[str, tuple[str, tuple[str, str]]] = {
    "OfficeHome": ("4765445b-32c6-49b0-83e6-1d93765276ca", GRAPH),
    "One Outlook Web": ("9199bf20-a13f-4107-85dc-02114787ef48", EXO),
    "Microsoft Teams Web Client": ("5e3ce6c0-2b1f-4285-8d4b-75ee78787346", TEAMS_SVC),
    "Office365 Shell WCSS-Client": ("89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", WCSS),
    "Office 365 SharePoint Online": ("00000003-0000-0ff1-ce00-000000000000", SPO),
    "Microsoft Office": ("d3590ed6-52b3-4102-aeff-aad2292ab01c", EXO),
    "Microsoft Teams": ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", TEAMS_SVC),
    "Outlook Mobile": ("27922004-5251-4030-b22d-91ecd9a37ea4", EXO),
    "Microsoft Authentication Broker": ("29d9ed98-a469-4536-ade2-f981bc1d605e", GRAPH),
    "Windows Sign In": ("38aa3b87-a06d-4817-b275-7a316988d93b", AAD),
    "Microsoft Edge": ("ecd6b820-32c2-49b6-98a6-444530e5a77a", GRAPH),
    "Azure Portal": ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", ARM),
    "Azure Active Directory PowerShell": ("1b730954-1685-4b74-9bfd-dac224a7b894", AAD),
    "Microsoft Azure CLI": ("04b07795-8ddb-461a-bbee-02f9e1bf7b46", ARM),
    "Microsoft Graph Command Line Tools": ("14d82eec-204b-4c2f-b7e8-296a70dab67e", GRAPH),
    "Office 365 Exchange Online": ("00000002-0000-0ff1-ce00-000000000000", EXO),
    "My Signins": ("19db86c3-b2b9-44cc-b339-36da233a3be2", GRAPH),
}
APP_NAMES = list(APPS)
APP_INDEX = {n: i for i, n in enumerate(APP_NAMES)}

# Which apps each kind of client signs in to, with weights.
CLIENT_APPS: dict[str, list[tuple[str, float]]] = {
    "browser": [
        ("OfficeHome", 0.3),
        ("One Outlook Web", 0.25),
        ("Microsoft Teams Web Client", 0.15),
        ("Office365 Shell WCSS-Client", 0.15),
        ("Office 365 SharePoint Online", 0.13),
        ("My Signins", 0.02),
    ],
    "desktop": [
        ("Microsoft Office", 0.45),
        ("Microsoft Teams", 0.35),
        ("Microsoft Authentication Broker", 0.1),
        ("Windows Sign In", 0.1),
    ],
    "mobile": [("Outlook Mobile", 0.5), ("Microsoft Teams", 0.35), ("Microsoft Authentication Broker", 0.15)],
    "eas": [("Office 365 Exchange Online", 1.0)],
    "service": [
        ("Office 365 Exchange Online", 0.3),
        ("Microsoft Graph Command Line Tools", 0.3),
        ("Azure Active Directory PowerShell", 0.2),
        ("Microsoft Azure CLI", 0.2),
    ],
    "admin": [
        ("Azure Portal", 0.6),
        ("Microsoft Graph Command Line Tools", 0.2),
        ("Microsoft Azure CLI", 0.2),
    ],
}

CLIENT_APP_USED = {
    "browser": "Browser",
    "desktop": "Mobile Apps and Desktop clients",
    "mobile": "Mobile Apps and Desktop clients",
    "eas": "Exchange ActiveSync",
    "service": "Mobile Apps and Desktop clients",
    "admin": "Browser",
}

FAILURE_REASONS: dict[int, str] = {
    0: "Other.",
    50126: "Error validating credentials due to invalid username or password.",
    50034: "The user account does not exist in the tenant directory. To sign into this application, "
    "the account must be added to the directory.",
    50053: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
    50055: "The password is expired.",
    50057: "User account is disabled. The account has been disabled by an administrator.",
    50074: "Strong Authentication is required.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a new location, "
    "you must use multi-factor authentication to access the resource.",
    50079: "Due to a configuration change made by your administrator, or because you moved to a new location, "
    "you must enroll in multi-factor authentication to access the resource.",
    50125: "Sign-in was interrupted due to a password reset or password registration entry.",
    50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    50144: "User's Active Directory password has expired.",
    50089: "Flow token expired - Authentication Failed. Have the user try signing-in again with username -password.",
    50173: "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
    "The user might have changed or reset their password.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    70044: "The session has expired or is invalid due to sign-in frequency checks by conditional access.",
    500121: "Authentication failed during strong authentication request.",
    700082: "The refresh token has expired due to inactivity.",
    65001: "The user or administrator has not consented to use the application.",
}
# Codes Entra reports as an interruption (the portal shows Status "Interrupted").
INTERRUPTS = {50074, 50076, 50079, 50125, 50140, 50055, 50144}

MFA_METHODS = [
    "Mobile app notification",
    "Text message",
    "OATH verification code",
    "Phone call approval",
    "FIDO2 security key",
    "Windows Hello for Business",
]
MFA_METHOD_P = [0.62, 0.12, 0.1, 0.04, 0.04, 0.08]

FIRST = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "chris",
    "nancy",
    "daniel",
    "lisa",
    "matthew",
    "betty",
    "anthony",
    "sandra",
    "mark",
    "ashley",
    "paul",
    "kimberly",
    "steven",
    "emily",
    "andrew",
    "donna",
    "joshua",
    "michelle",
    "kevin",
    "carol",
    "brian",
    "amanda",
    "george",
    "melissa",
    "timothy",
    "deborah",
    "ronald",
    "stephanie",
    "jason",
    "rebecca",
    "edward",
    "laura",
    "jeffrey",
    "sharon",
    "ryan",
    "cynthia",
    "jacob",
    "kathleen",
    "gary",
    "amy",
    "nicholas",
    "angela",
    "eric",
    "helen",
    "jonathan",
    "anna",
    "stephen",
    "brenda",
    "larry",
    "pamela",
    "justin",
    "nicole",
    "scott",
    "emma",
    "brandon",
    "samantha",
    "benjamin",
    "katherine",
    "samuel",
    "christine",
    "gregory",
    "debra",
    "frank",
    "rachel",
    "alexander",
    "carolyn",
    "raymond",
    "janet",
    "patrick",
    "maria",
    "jack",
    "olivia",
    "dennis",
    "heather",
    "jerry",
    "diane",
    "tyler",
    "ruth",
    "aaron",
    "julie",
    "jose",
    "joyce",
    "adam",
    "virginia",
    "henry",
    "victoria",
    "nathan",
    "kelly",
    "douglas",
    "lauren",
    "zachary",
    "christina",
    "peter",
    "joan",
    "kyle",
    "evelyn",
    "noah",
    "judith",
    "ethan",
    "megan",
    "jeremy",
    "andrea",
    "walter",
    "cheryl",
    "christian",
    "hannah",
    "keith",
    "jacqueline",
    "roger",
    "martha",
    "terry",
    "gloria",
    "austin",
    "teresa",
    "sean",
    "ann",
    "gerald",
    "sara",
    "carl",
    "madison",
    "harold",
    "frances",
    "dylan",
    "kathryn",
    "arthur",
    "janice",
    "lawrence",
    "jean",
    "jordan",
    "abigail",
    "jesse",
    "alice",
    "bryan",
    "judy",
    "billy",
    "sophia",
    "bruce",
    "grace",
    "gabriel",
    "denise",
    "joe",
    "amber",
    "logan",
    "doris",
    "albert",
    "marilyn",
    "willie",
    "danielle",
    "alan",
    "beverly",
    "eugene",
    "isabella",
    "russell",
    "theresa",
    "vincent",
    "diana",
    "priya",
    "arjun",
    "wei",
    "mei",
    "hiroshi",
    "yuki",
    "lukas",
    "lena",
    "mateo",
    "sofia",
    "pierre",
    "camille",
    "giulia",
    "marco",
    "anja",
    "jonas",
    "fatima",
    "omar",
    "ines",
    "tomas",
    "zofia",
    "piotr",
    "astrid",
    "erik",
    "ahmed",
    "leila",
]
LAST = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "gomez",
    "phillips",
    "evans",
    "turner",
    "diaz",
    "parker",
    "cruz",
    "edwards",
    "collins",
    "reyes",
    "stewart",
    "morris",
    "morales",
    "murphy",
    "cook",
    "rogers",
    "gutierrez",
    "ortiz",
    "morgan",
    "cooper",
    "peterson",
    "bailey",
    "reed",
    "kelly",
    "howard",
    "ramos",
    "kim",
    "cox",
    "ward",
    "richardson",
    "watson",
    "brooks",
    "chavez",
    "wood",
    "james",
    "bennett",
    "gray",
    "mendoza",
    "ruiz",
    "hughes",
    "price",
    "alvarez",
    "castillo",
    "sanders",
    "patel",
    "myers",
    "long",
    "ross",
    "foster",
    "jimenez",
    "powell",
    "jenkins",
    "perry",
    "russell",
    "sullivan",
    "bell",
    "coleman",
    "butler",
    "henderson",
    "barnes",
    "fisher",
    "vasquez",
    "simmons",
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "schulz",
    "hoffmann",
    "dubois",
    "moreau",
    "laurent",
    "bernard",
    "rossi",
    "russo",
    "ferrari",
    "esposito",
    "bianchi",
    "kowalski",
    "nowak",
    "wisniewski",
    "jansen",
    "devries",
    "bakker",
    "andersson",
    "johansson",
    "karlsson",
    "nielsen",
    "hansen",
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "chen",
    "wang",
    "zhang",
    "liu",
    "singh",
    "kumar",
    "sharma",
    "gupta",
    "silva",
    "santos",
    "oliveira",
    "pereira",
]
WORDS = [
    "north",
    "river",
    "stone",
    "bright",
    "oak",
    "harbor",
    "summit",
    "cedar",
    "pioneer",
    "atlas",
    "beacon",
    "crest",
    "falcon",
    "granite",
    "meridian",
    "nova",
    "orbit",
    "prairie",
    "quartz",
    "ridge",
    "sterling",
    "timber",
    "union",
    "vertex",
    "willow",
    "zenith",
    "apex",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "glacier",
    "horizon",
    "iris",
    "juniper",
    "keystone",
    "lumen",
    "maple",
    "nimbus",
    "onyx",
    "pinnacle",
    "quill",
    "redwood",
    "sierra",
    "tidal",
    "umber",
    "vista",
    "wren",
    "yarrow",
    "arbor",
    "basil",
    "canyon",
    "dune",
    "elm",
    "fern",
    "grove",
    "heron",
    "indigo",
    "jade",
    "kestrel",
    "lark",
    "marsh",
    "nectar",
    "opal",
    "pine",
    "raven",
    "sage",
    "thistle",
]
DEPARTMENTS = [
    ("Sales", 0.18),
    ("Engineering", 0.2),
    ("Operations", 0.12),
    ("Finance", 0.08),
    ("Marketing", 0.08),
    ("Customer Support", 0.12),
    ("Human Resources", 0.05),
    ("Legal", 0.03),
    ("IT", 0.06),
    ("Security", 0.03),
    ("Research", 0.04),
    ("Executive", 0.01),
]


def pick(rng: np.random.Generator, items: list, p: list[float] | None = None):
    """One element of ``items`` (weights optional, normalised)."""
    if p is not None:
        cum = list(itertools.accumulate(p))
        return items[min(bisect.bisect(cum, rng.random() * cum[-1]), len(items) - 1)]
    return items[int(rng.integers(0, len(items)))]


# -- user agents -----------------------------------------------------------------------------------
def chrome_version(rng: np.random.Generator) -> tuple[int, str]:
    major = int(rng.integers(118, 132))
    return major, f"{major}.0.{int(rng.integers(5900, 6800))}.{int(rng.integers(40, 220))}"


def browser_ua(rng: np.random.Generator, os_name: str) -> tuple[str, str, str]:
    """(user agent, deviceDetail.operatingSystem, deviceDetail.browser) for a desktop or phone browser."""
    major, full = chrome_version(rng)
    if os_name == "Windows":
        flavour = pick(rng, ["edge", "chrome", "firefox"], [0.55, 0.38, 0.07])
        osd = pick(rng, ["Windows10", "Windows 10", "Windows11"], [0.5, 0.2, 0.3])
        if flavour == "edge":
            return (
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{major}.0.0.0 Safari/537.36 Edg/{full}",
                osd,
                f"Edge {major}.0.0",
            )
        if flavour == "chrome":
            return (
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{major}.0.0.0 Safari/537.36",
                osd,
                f"Chrome {major}.0.0",
            )
        fx = int(rng.integers(115, 125))
        return (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{fx}.0) Gecko/20100101 Firefox/{fx}.0",
            osd,
            f"Firefox {fx}.0",
        )
    if os_name == "MacOs":
        if rng.random() < 0.5:
            sv = pick(rng, ["16.6", "17.1", "17.2", "17.3", "17.4"])
            return (
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Version/{sv} Safari/605.1.15",
                "MacOs",
                f"Safari {sv}",
            )
        return (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36",
            "MacOs",
            f"Chrome {major}.0.0",
        )
    if os_name == "Linux":
        fx = int(rng.integers(115, 125))
        return (
            f"Mozilla/5.0 (X11; Linux x86_64; rv:{fx}.0) Gecko/20100101 Firefox/{fx}.0",
            "Linux",
            f"Firefox {fx}.0",
        )
    if os_name == "Ios":
        v = pick(rng, ["16_7", "17_1", "17_2", "17_3", "17_4"])
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{v.replace('_', '.')} Mobile/15E148 Safari/604.1",
            "Ios",
            f"Mobile Safari {v.replace('_', '.')}",
        )
    v = int(rng.integers(11, 15))
    model = pick(rng, ["SM-S911B", "Pixel 7", "SM-A546B", "Pixel 8 Pro", "moto g54 5G"])
    return (
        f"Mozilla/5.0 (Linux; Android {v}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Mobile Safari/537.36",
        "Android",
        f"Chrome Mobile {major}.0.0",
    )


def desktop_client_ua(rng: np.random.Generator, os_name: str) -> tuple[str, str, str]:
    """Office/Teams desktop (MSAL) clients; Entra shows the browser as 'Rich Client <msal version>'."""
    rich = f"Rich Client {pick(rng, ['4.56.0.0', '4.58.0.0', '4.59.0.0', '5.0.1.0', '4.61.3.0'])}"
    if os_name == "MacOs":
        return (
            f"Microsoft Office/16.0 (Macintosh; Mac OS X 10.15.7; Microsoft Outlook 16.{int(rng.integers(78, 82))}; Pro)",
            "MacOs",
            rich,
        )
    build = int(rng.integers(16827, 17231))
    ua = pick(
        rng,
        [
            f"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.{build}; Pro)",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 Teams/24{int(rng.integers(1, 40)):03d}.1414.2.2",
            "Windows-AzureAD-Authentication-Provider/1.0",
        ],
    )
    return ua, pick(rng, ["Windows10", "Windows11"], [0.6, 0.4]), rich


def mobile_client_ua(rng: np.random.Generator, os_name: str) -> tuple[str, str, str]:
    if os_name == "Ios":
        ver = f"4.{int(rng.integers(2340, 2412))}.0"
        return (
            f"Outlook-iOS/709.{int(rng.integers(2100000, 2300000))}.prod.iphone ({ver})",
            "Ios",
            f"MSAL.iOS {pick(rng, ['1.2.18', '1.2.20', '1.2.22'])}",
        )
    v = int(rng.integers(11, 15))
    return (
        f"Dalvik/2.1.0 (Linux; U; Android {v}; {pick(rng, ['SM-S911B', 'Pixel 7', 'SM-G991B'])} Build/UP1A.231005.007)",
        "Android",
        "Rich Client 4.6.0",
    )


def eas_ua(rng: np.random.Generator) -> tuple[str, str, str]:
    """Native mail apps on Exchange ActiveSync (basic auth era look-alike)."""
    if rng.random() < 0.7:
        return (
            f"Apple-iPhone{int(rng.integers(12, 16))}C{int(rng.integers(1, 5))}/{int(rng.integers(2001, 2106))}.{int(rng.integers(10, 99))}",
            "Ios",
            "",
        )
    return (
        f"Android-Mail/2023.{int(rng.integers(10, 12))}.{int(rng.integers(1, 30))}.{int(rng.integers(500000000, 599999999))}-release",
        "Android",
        "",
    )


def service_ua(rng: np.random.Generator) -> tuple[str, str, str]:
    ua = pick(
        rng,
        [
            f"python-requests/2.{int(rng.integers(25, 32))}.{int(rng.integers(0, 3))}",
            f"Java/{pick(rng, ['1.8.0_392', '11.0.21', '17.0.9'])}",
            f"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.{int(rng.integers(14393, 20348))}.{int(rng.integers(1000, 4000))}",
            f"Go-http-client/{pick(rng, ['1.1', '2.0'])}",
            f"PowerShell/7.{int(rng.integers(2, 5))}.{int(rng.integers(0, 9))}",
        ],
    )
    return ua, pick(rng, ["Windows", "Linux", ""]), ""
