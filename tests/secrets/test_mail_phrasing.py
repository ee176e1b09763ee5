"""How people share credentials in mail and chat (the human.* rules): one test per pattern class.

Each class has a positive (the value is reported, exactly) and a near miss (the same words without a
credential: a policy, a pointer to a vault, an error message). The values are made up for these tests.
The last test scans the development corpus (tests/fixtures/mail_phrasing) end to end as an mbox.
"""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from nightowl.secrets.scan import ScanOptions, scan_paths

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "mail_phrasing" / "corpus.jsonl"


def found(engine, text: str, path: str = "message.txt") -> dict[str, str]:
    """Reported value -> rule id."""
    return {h.secret.decode(): h.rule.id for h in engine.scan(text.encode(), path=path)}


def check(engine, positives: list[tuple[str, str]], negatives: list[str]) -> None:
    for text, want in positives:
        assert want in found(engine, text), text
    for text in negatives:
        assert not found(engine, text), text


def test_label_with_other_separators(engine):
    check(
        engine,
        [
            ("Shared mailbox:\nPassword - Lagoon7Harbor", "Lagoon7Harbor"),
            ("  user ........ rkim\n  password ....... Copper?4410", "Copper?4410"),
            ("Password (case-sensitive): tulip-Mortar-88", "tulip-Mortar-88"),
            ("• URL: https://wiki.example.net\n• Password: Ledger%5521", "Ledger%5521"),
            ("<b>Password:</b> Vq3!mZr8Lp<br>", "Vq3!mZr8Lp"),
            ("<tr><td>Password</td><td>Cw5#Tn8qLz</td></tr>", "Cw5#Tn8qLz"),
            ("**Password**: Dm2&Xk9wQr", "Dm2&Xk9wQr"),
            ("Password:\u00a0Nx7-qTw2!Rp", "Nx7-qTw2!Rp"),
            ("Temp PW for the new scanner: Hinge6$Pail", "Hinge6$Pail"),
        ],
        [
            "Password - see the envelope on your desk",
            "password ........ (ask the service desk)",
            "<b>Password:</b> ********<br>",
            '<span class="attr">passphrase</span>: <span class="string">\'sample\'</span>,',
            "PASSWORD............................................|tool-passwd|",
        ],
    )


def test_word_then_space_then_value(engine):
    check(
        engine,
        [
            ("VPN gateway: vpn.example.net\npw Rivet%8830", "Rivet%8830"),
            ("ssh in as deploy, pwd q7Z!vLm2#Kr", "q7Z!vLm2#Kr"),
            ("new credentials: user akhan, password birch-Lantern71.", "birch-Lantern71"),
            ("password Gable5sparrow& should work again", "Gable5sparrow&"),
        ],
        [
            "password reset done, user will pick a new one",
            "the password field is masked now",
            "password sha512 is the default hash",
            'for example the password "qwerty" is far too weak',
        ],
    )


def test_sentence_forms(engine):
    check(
        engine,
        [
            ("reset it once more, the new one is Cinder&4472", "Cinder&4472"),
            ("I reset your VPN password to MossHarbor58 - change it at first login.", "MossHarbor58"),
            ("The admin password got rotated, new value is 8kLq-Zt2?mWv", "8kLq-Zt2?mWv"),
            ("I changed the kiosk password. It's now Brine4$Gull.", "Brine4$Gull"),
            ("Unlocked again. Try this: pebble-orchid-falcon-mint", "pebble-orchid-falcon-mint"),
            ("Use Granite4lake% to log in, the user name is your e-mail.", "Granite4lake%"),
            ("The workbook is protected, open it with pilot.Harbor31", "pilot.Harbor31"),
            ("Could you try Zephyr71&? I set it this morning.", "Zephyr71&"),
            ("das Passwort ist jetzt gesetzt, the new password is **Quill5Ember**", "Quill5Ember"),
        ],
        [
            "the new one is much faster than the old server",
            "use Python3 to log in to the box",
            "try this: restart the agent first",
            "can you try again later?",
            "the file is locked, open it with Excel",
            "the password is the usual one",
        ],
    )


def test_value_alone_on_the_next_line(engine):
    check(
        engine,
        [
            ("Password\nBramble8Finch!", "Bramble8Finch!"),
            ("The password for the lobby kiosk is:\nsaddle-copper-willow", "saddle-copper-willow"),
            ("> what's the pw for the lab box?\nOtterCanyon27", "OtterCanyon27"),
            ("Here you go:\n\nW4q%Lr8!zXm2Tv\n\nThat's the password for the etl user.", "W4q%Lr8!zXm2Tv"),
        ],
        [
            "Enter password\n[            ]",
            "Forgot your password?\nClick here to reset it",
            "Your password:\n********",
        ],
    )


def test_credentials_announced_then_lone_lines(engine):
    check(
        engine,
        [
            (
                "Creds below for the partner portal:\n\nops@partner.example.net\nfennel-quartz-meadow\n",
                "fennel-quartz-meadow",
            ),
            ("Login details:\nkiosk01\nPlover3$Dune\n", "Plover3$Dune"),
        ],
        [
            "Creds below, as promised:\n\nThanks,\nNoor",
            "Please find the credentials below in the password manager.\nThanks",
        ],
    )


def test_user_and_password_pair_after_a_login_cue(engine):
    check(
        engine,
        [
            ("login for the plotter: plot / Thimble2024$", "Thimble2024$"),
            ("creds: svc_ci:Rq8%vLm2!Zx7Tp", "Rq8%vLm2!Zx7Tp"),
            ("creds: qa_user // Anvil&3391", "Anvil&3391"),
            ("te paso las credenciales: admin / cobalt-heron-maple", "cobalt-heron-maple"),
            ("root / Kx9=vTq2_Lm8Wr", "Kx9=vTq2_Lm8Wr"),
            ("User / Password: bnoor / Quarry7&Elm", "Quarry7&Elm"),
        ],
        [
            "login: see https://sso.example.net/start",
            "login: jdoe / same as before",
            "admin / users / groups",
        ],
    )


def test_typos_of_password(engine):
    check(
        engine,
        [
            ("pasword: marble-vortex-cedar-plum", "marble-vortex-cedar-plum"),
            ("passwrd Nimbus8&Reef", "Nimbus8&Reef"),
        ],
        ["pasword: (unchanged)", "passwrd reset pending"],
    )


@pytest.mark.parametrize(
    "text,want",
    [
        ("das Passwort für den Scanner lautet Eiche7Falke", "Eiche7Falke"),
        ("Ihr Initialkennwort: Zr4!pLq8Tw", "Zr4!pLq8Tw"),
        ("le mot de passe du routeur est Renard?5530", "Renard?5530"),
        ("mdp : lune-bateau-cerise", "lune-bateau-cerise"),
        ("la contraseña del portal es Lince#7720", "Lince#7720"),
        ("usuario: mruiz\nclave: roble.Nube38", "roble.Nube38"),
        ("a senha do servidor é Jacaré9Ipe", "Jacaré9Ipe"),
        ("la password del portale è Volpe$6610", "Volpe$6610"),
        ("het wachtwoord voor de printer is Molen4Dijk!", "Molen4Dijk!"),
        ("初期パスワード：Ts8vKq2mLx\nよろしくお願いします。", "Ts8vKq2mLx"),
        ("会議室のパスワードはHn3xQ7wPz9です。", "Hn3xQ7wPz9"),
        ("测试账号密码：Kw7#Lp2zQm，用完请修改。", "Kw7#Lp2zQm"),
        ("VPN 初始密码为 Rt5=Mx9qLw，首次登录后请修改。", "Rt5=Mx9qLw"),
    ],
)
def test_other_languages(engine, text, want):
    assert want in found(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "Das Passwort schicke ich dir separat per SMS.",
        "mot de passe : transmis par téléphone",
        "contraseña: la misma de siempre",
        "a senha é a mesma de sempre",
        "la password è quella solita",
        "Het wachtwoord staat in de kluis.",
        "パスワードは別途お送りします。",
        "密码已通过短信发送，请查收。",
    ],
)
def test_other_languages_near_misses(engine, text):
    assert not found(engine, text)


def test_passphrases_of_several_words(engine):
    check(
        engine,
        [
            ("The passphrase for the archive is: violet harbor candle meadow", "violet harbor candle meadow"),
            ("wifi: Lobby-Guest / key quartz ember saddle piano", "quartz ember saddle piano"),
            ("Wi-Fi : Atelier / clé corde bateau sable lune", "corde bateau sable lune"),
        ],
        [
            "Password: use your normal Windows password",
            "the passphrase is on the card at reception",
            "Por favor introduzca la contraseña: una frase secreta",
            "Wi-Fi: Corp-Guest (no password, just accept the terms)",
        ],
    )


def test_pins_and_door_codes_are_reported_at_a_lower_severity(engine):
    positives = [
        ("Copier admin PIN 58213", "58213"),
        ("Server room keypad - PIN: 7391", "7391"),
        ("The alarm code is 4826, you have 30 seconds.", "4826"),
        ("Key safe by the back gate - code 3958.", "3958"),
        ("The safe combination is 61827.", "61827"),
        ("Der Türcode für den Keller ist 8164.", "8164"),
        ("Le code de la porte du garage est 7391.", "7391"),
    ]
    for text, want in positives:
        hits = [h for h in engine.scan(text.encode(), path="message.txt") if h.secret.decode() == want]
        assert hits, text
        assert hits[0].rule.severity == "medium", text
    for text in [
        "PIN reset requested for badge 44718.",
        "error code 4042 from the gateway",
        "the door codes on floor 2 change on Monday",
        "propagate session destroy code to streams [#28435]",
        "Door code: 1234",
        "Your one-time passcode is 582913. It expires in 10 minutes.",
    ]:
        assert not found(engine, text), text


def test_recovery_codes_and_bitlocker_keys(engine):
    key = "-".join(["402817", "118264", "660371", "238859", "519064", "084113", "302975", "755448"])
    check(
        engine,
        [
            (f"BitLocker recovery key for LT-0921:\n{key}", key),
            ("Backup codes for the break-glass admin: t7qk-m2xz-84vb", "t7qk-m2xz-84vb"),
            ("if the phone is lost use this recovery code: pq4r-9x2m-hz7k", "pq4r-9x2m-hz7k"),
        ],
        ["Recovery key ID: 8F2C1A33, see the portal", "backup code generation is disabled by policy"],
    )


def test_keys_and_tokens_pasted_in_prose(engine):
    check(
        engine,
        [
            ("service account: sync@example.net\nkey: Hq8vTn3LwR6pXz2KmC9sBd4F", "Hq8vTn3LwR6pXz2KmC9sBd4F"),
            (
                "Here's the API key for the test sandbox: zq_test_9Rt2WqLx7NvP4mZk8HcY3",
                "zq_test_9Rt2WqLx7NvP4mZk8HcY3",
            ),
            (
                "Token for the alerting hook (team only): tk7Vq2Lm9XwR4pNz8KcT6bHs3",
                "tk7Vq2Lm9XwR4pNz8KcT6bHs3",
            ),
            (
                "Pasting the key here for tomorrow:\ndmo_R7kTq2WmX9vLp4Nz8HcB6sYt",
                "dmo_R7kTq2WmX9vLp4Nz8HcB6sYt",
            ),
        ],
        [
            "Host key fingerprint is SHA256:Zq3kW8vT2pLx9RmN4cH7bY6sD1fG5jK0aE2uI8oP3qA.",
            "The API key was revoked and removed from the history (see PR #812).",
            "key: com.example.service.configuration.timeout",
            "[DEBUG] using Key=Rk3vT9qLm2WxZ8pN4cH7bY6s",
        ],
    )


def test_password_column_of_a_text_table(engine):
    check(
        engine,
        [
            (
                "Host  | Login  | Password\n------+--------+---------\nNAS   | backup | Tide9%lumen\n",
                "Tide9%lumen",
            )
        ],
        ["| Option | Password |\n|---|---|\n| --user | required |"],
    )


def test_phrasing_rules_do_not_read_code(engine):
    text = "# the password is Kestrel7%Lime\npw Kestrel7%Lime\n"
    assert "Kestrel7%Lime" in found(engine, text, path="notes.txt")
    assert not any(r.startswith("human.") for r in found(engine, text, path="deploy.py").values())


def test_dev_corpus_end_to_end_as_an_mbox(tmp_path):
    """The development corpus through the real mail reader: recall and flagged share stay near what they were.

    Measured when the rules were written: 127/128 positives found exactly, 0/131 negatives flagged.
    """
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    box = mailbox.mbox(tmp_path / "corpus.mbox")
    for row in rows:
        msg = EmailMessage()
        msg["From"] = "it-desk@example.org"
        msg["To"] = "someone@example.org"
        msg["Subject"] = "re: access"
        msg["Message-ID"] = f"<{row['id']}@corpus>"
        msg.set_content(row["text"])
        box.add(msg)
    box.flush()
    res = scan_paths([str(tmp_path / "corpus.mbox")], ScanOptions(jobs=1, show_secrets=True))
    got: dict[str, set[str]] = {}
    for s in res.secrets.values():
        for loc in s.locations.values():
            got.setdefault(str(loc.get("message_id", "")).strip("<>").split("@")[0], set()).add(
                s.plaintext or ""
            )
    pos = [r for r in rows if r["label"] == "positive"]
    neg = [r for r in rows if r["label"] != "positive"]
    recall = sum(r["secret"] in got.get(r["id"], set()) for r in pos) / len(pos)
    flagged = sum(bool(got.get(r["id"])) for r in neg) / len(neg)
    assert len(pos) >= 100 and len(neg) >= 100
    assert recall >= 0.95, f"recall {recall:.1%}"
    assert flagged <= 0.02, f"flagged {flagged:.1%}"
