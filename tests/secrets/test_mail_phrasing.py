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


def _corpus_through_mbox(path: Path, tmp_path: Path) -> tuple[float, float, int, int]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
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
    return recall, flagged, len(pos), len(neg)


def test_dev_corpus_end_to_end_as_an_mbox(tmp_path):
    """The development corpus through the real mail reader: recall and flagged share stay near what they were.

    Measured when the rules were written: 127/128 positives found exactly, 0/131 negatives flagged.
    """
    recall, flagged, npos, nneg = _corpus_through_mbox(CORPUS, tmp_path)
    assert npos >= 100 and nneg >= 100
    assert recall >= 0.95, f"recall {recall:.1%}"
    assert flagged <= 0.02, f"flagged {flagged:.1%}"


# -- second development round (corpus2.jsonl): classes the first rules did not know -------------------------

CORPUS2 = CORPUS.with_name("corpus2.jsonl")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("요청하신 임시 비밀번호는 Pk4#wTz8Lm 입니다.", "Pk4#wTz8Lm"),
        ("계정 정보\n비밀번호: Hx7!qRv2Nw", "Hx7!qRv2Nw"),
        ("Przesyłam hasło tymczasowe do poczty: Tv3%kLq9Wz", "Tv3%kLq9Wz"),
        ("Ditt nya lösenord är Gran58#Berg", "Gran58#Berg"),
        ("Din midlertidige adgangskode er Fjord72!Hav", "Fjord72!Hav"),
        ("Passordet ditt: Elg4$Skog9", "Elg4$Skog9"),
        ("Väliaikainen salasana on Kuusi83&Jarvi", "Kuusi83&Jarvi"),
        ("Vaše dočasné heslo je Lipa27*Most", "Lipa27*Most"),
        ("Heslo k tiskárně je Buk39#Rybnik", "Buk39#Rybnik"),
        ("Пароль от роутера — Wq3!zRt8Km", "Wq3!zRt8Km"),
        ("Geçici şifre: Deniz81!Kum", "Deniz81!Kum"),
        ("Ваш пароль: Vx5#mQw2Rt", "Vx5#mQw2Rt"),
        ("كلمة المرور: Nq6!zTr3Kw", "Nq6!zTr3Kw"),
        ("आपका पासवर्ड: Bm8$kWq4Zt", "Bm8$kWq4Zt"),
        ("das gäste-passwort im erdgeschoss ist jetzt Herbst2031& bis freitag", "Herbst2031&"),
        ("Votre mot de passe temporaire est\u202f: Qz4!mRt7Lp", "Qz4!mRt7Lp"),
        ("zugang NAS: benutzer sicherung, wachtwoord Vr8!kTq3Mz (intern)", "Vr8!kTq3Mz"),
    ],
)
def test_more_languages_and_sentence_forms(engine, text, want):
    assert want in found(engine, text), text


@pytest.mark.parametrize(
    "text",
    [
        "비밀번호는 별도로 전화로 알려드리겠습니다.",
        "암호화: AES-256 적용",
        "Hasło: zostanie przesłane SMS-em",
        "Lösenordet är samma som förut",
        "Ваш пароль: будет отправлен по SMS",
        "das passwort ist jetzt geändert",
    ],
)
def test_more_languages_near_misses(engine, text):
    assert not found(engine, text), text


def test_network_and_sign_in_secrets(engine):
    check(
        engine,
        [
            ("Branch firewall: enable secret is Rq7#mVt2Kz9w for now.", "Rq7#mVt2Kz9w"),
            ("SNMP v3 is next; the v2c community string for the PDUs is Tz4kRm8qWx2L.", "Tz4kRm8qWx2L"),
            (
                "IPsec to Lyon: the pre-shared key we set with the carrier is Hw8pKz3rTq6vLm2N",
                "Hw8pKz3rTq6vLm2N",
            ),
            ("TACACS+ key for the lab switches: Lq2!vRk8Mz", "Lq2!vRk8Mz"),
            ("your Temporary Access Pass for the new phone is Xq9$tLm4Vz, valid 1 hour", "Xq9$tLm4Vz"),
        ],
        [
            "enable secret 5 $1$Xy3z$AbCdEfGhIjKlMnOpQr",
            "the community string is public on the old switches",
            "the pre-shared key is rotated every quarter",
            "Temporary Access Pass is required for enrolment",
        ],
    )


def test_codes_for_doors_safes_lockers_and_service_pins(engine):
    check(
        engine,
        [
            ("new door code for the archive on level -2 is 58371 followed by #", "58371"),
            ("your locker is C-204 on floor 2, combination 7315.", "7315"),
            ("Keysafe by the loading bay: code 6248. Scramble it afterwards.", "6248"),
            ("the cash safe opens with 42-17-88 (left first)", "42-17-88"),
            ("The panels use a service PIN for setup. For floor 6 it's 861274.", "861274"),
            ("PUK for the pool phone SIM: 40917385", "40917385"),
            ("Der Türcode für die Werkstatt lautet ab Dienstag 740318.", "740318"),
            ("le code de l'alarme c'est 5827, 30 secondes pour sortir", "5827"),
            ("o código do cadeado do armário 12 é 6093.", "6093"),
            ("Koden till larmet i lagret är 3815.", "3815"),
            ("机房门禁密码改成702915了", "702915"),
            ("金庫の暗証番号は 590382 です", "590382"),
            ("il codice del cancello è 8142, grazie", "8142"),
            ("The combination to the bike lock is 39-07-81", "39-07-81"),
        ],
        [
            "the door code changes every month, ask reception",
            "alarm threshold is 9000 ms on the queue",
            "safe mode timeout is 3000 ms",
            "the alarm code is 2025",
            "PUK: ask the carrier",
            "the block size is 4096 bytes",
            "The combination to the lock is 12-34-56",
        ],
    )


def test_passphrases_after_master_password_or_in_quotes(engine):
    check(
        engine,
        [
            (
                "Master password for the ops vault (Ops.kdbx on the T: drive) is: walnut ember tidal quiver moss",
                "walnut ember tidal quiver moss",
            ),
            (
                'The guest wifi password is "cobalt fennel hazel orbit" (lowercase).',
                "cobalt fennel hazel orbit",
            ),
            (
                "Offsite next week: network CAMP-NET, key fern-copper-lantern-wades",
                "fern-copper-lantern-wades",
            ),
        ],
        [
            "Master password for the vault (see the S: drive) is: the one we agreed on",
            'the wifi password is "the same as last year" (ask me)',
        ],
    )


def test_archive_keys(engine):
    check(
        engine,
        [("the 7z with the payroll export is encrypted (AES-256). Key: Tq8=m?Lz4RwK2p", "Tq8=m?Lz4RwK2p")],
        ["The archive is signed. Key: /etc/keys/release.asc", "encrypted with AES, key: 0x5fa3c19e"],
    )


def test_user_slash_password_in_lists_and_sentences(engine):
    check(
        engine,
        [
            ("[x] Firewall admin: admin / Rv7!kTq2Lm*Zp", "Rv7!kTq2Lm*Zp"),
            (" linkedin: brand_ops / M@pl3$tr33t9\n tiktok: via SSO", "M@pl3$tr33t9"),
            ("log into the sandbox with qa.bot / W4lnutC@ke!71 to check the PDFs", "W4lnutC@ke!71"),
            ("IPMI at https://10.0.0.9 - Administrator / PKQ73ZRM (factory label)", "PKQ73ZRM"),
            ("dane logowania do panelu: admin / x=+V4kLq-Tz8 - zmienimy jutro", "x=+V4kLq-Tz8"),
        ],
        [
            "Platforms: amd64 / arm64",
            "Builds: linux-x64 / win-x64",
            "Versions: python3.11 / python3.12",
            "Copyright: Example Corp. 2003 - 2004 / 2005gThe Example Project",
            "[x] Printer: web / none",
        ],
    )


def test_chat_transcripts_and_quoted_replies(engine):
    check(
        engine,
        [
            (
                "[14:02] Meyer, Jonas\n    can someone send me the grafana admin pw again\n[14:05] Ruiz, Ana\n    Vt8!qLm3zKw",
                "Vt8!qLm3zKw",
            ),
            ("Works now.\n\n> > Try this one instead: Hq5#vTz9Lw2R\n> > sorry for the typo", "Hq5#vTz9Lw2R"),
        ],
        [
            "[14:02] Meyer, Jonas\n    can someone send me the grafana admin pw again\n[14:05] Ruiz, Ana\n    it's in the vault",
            "> > Try this one instead: restart the agent",
        ],
    )


def test_markdown_code_span_and_non_last_password_column(engine):
    check(
        engine,
        [
            ("- Service account: CORP\\svc_backup, pwd `Kx7!Vq2_mRz*Tw`", "Kx7!Vq2_mRz*Tw"),
            (
                "System  | User    | Password      | Owner\n--------+---------+---------------+------\n"
                "Backup  | bkadm   | Zr6@TmQ8wLk2  | IT\n",
                "Zr6@TmQ8wLk2",
            ),
        ],
        [
            "- Service account: CORP\\svc_backup, pwd `see vault`",
            "System  | User    | Password      | Owner\n--------+---------+---------------+------\n"
            "Backup  | bkadm   | (in vault)    | IT\n",
            '  "popd|print|pwd|read|return",\n  "select|set|setopt|shift|source",',
        ],
    )


def test_hex_api_key_redis_url_and_twilio_token(engine):
    check(
        engine,
        [
            (
                "the API key for the weather feed is 4be0c91f7a2d8e3560c1b9a7f4d2e806, keep it out of git",
                "4be0c91f7a2d8e3560c1b9a7f4d2e806",
            ),
            ("Cache: redis://:Lq7Tz2VwK9mR4xPn@cache-02.internal:6379/1", "Lq7Tz2VwK9mR4xPn"),
            (
                "Twilio handover: account SID AC0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e, auth token 9d2c7e1a4f8b3065c2e9a7d1f4b8e360.",
                "9d2c7e1a4f8b3065c2e9a7d1f4b8e360",
            ),
        ],
        [
            "the API key hash 4be0c91f7a2d8e3560c1b9a7f4d2e806 is logged, never the key",
            "redis://:${REDIS_PASSWORD}@cache:6379/0",
            "auth token 9d2c7e1a4f8b3065c2e9a7d1f4b8e360 of the internal gateway",
        ],
    )


def test_second_dev_corpus_end_to_end_as_an_mbox(tmp_path):
    """corpus2.jsonl (written blind to the first rules): 63.1% found before this round, 103/103 after, 0/102 flagged."""
    recall, flagged, npos, nneg = _corpus_through_mbox(CORPUS2, tmp_path)
    assert npos >= 100 and nneg >= 100
    assert recall >= 0.95, f"recall {recall:.1%}"
    assert flagged <= 0.02, f"flagged {flagged:.1%}"


# -- third development round (corpus3.jsonl): classes the second round's rules did not know -----------------------

CORPUS3 = CORPUS.with_name("corpus3.jsonl")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("la password dell'utente di servizio svc_report è Qt6^Lw2#Zp9", "Qt6^Lw2#Zp9"),  # Italian elision
        ("väliaikainen salasanasi on Hv4!pQ8zLt", "Hv4!pQ8zLt"),  # Finnish possessive suffix
        ("Nova palavra-passe: Rk7$wZq2Mn", "Rk7$wZq2Mn"),  # Portuguese (Portugal)
        ("検証環境のDBパスワードは Mx5#tRq8Wz です。", "Mx5#tRq8Wz"),  # CJK word glued to a Latin qualifier
        ("测试服务器的root密码是 Pn3%kLw7Qz ，谢谢", "Pn3%kLw7Qz"),
        ("सर्वर का पासवर्ड 47Neela!pani है।", "47Neela!pani"),  # Hindi: verb after the value
        ("Ο κωδικός πρόσβασης είναι Xr7!mQ2pLz", "Xr7!mQ2pLz"),  # Greek
        ("Κωδικός: Tq4#wLm8Zx", "Tq4#wLm8Zx"),
        ("A jelszó: Hb6$kWq3Rt", "Hb6$kWq3Rt"),  # Hungarian
        ("Az ideiglenes jelszavad Pz8!nVc2Lq", "Pz8!nVc2Lq"),
        ("Parola pentru contul de test este Mk5#rTq9Wz", "Mk5#rTq9Wz"),  # Romanian
        ("הסיסמה היא Jw2!pRt8Kq", "Jw2!pRt8Kq"),  # Hebrew
        ("Kata sandi untuk akun ini adalah Fs9!kWe2Rp", "Fs9!kWe2Rp"),  # Indonesian
        ("Mật khẩu của bạn là Gh7#nQw2Ks", "Gh7#nQw2Ks"),  # Vietnamese
        ("Password as discussed: Vb8$qLm3Tz", "Vb8$qLm3Tz"),
        ("密码：orchid.falcon.pebble.lantern", "orchid.falcon.pebble.lantern"),  # words joined by dots
        (
            "Nieuwe palavra-passe: copperharborlanternthistle",
            "copperharborlanternthistle",
        ),  # words run together
    ],
)
def test_third_round_languages_and_forms(engine, text, want):
    assert want in found(engine, text), text


@pytest.mark.parametrize(
    "text",
    [
        "The password for your account CORP\\jdoe will expire on 14/09/2026.",  # a date, not a password
        'FYI - LastPass: "Partner demo tenant" has been shared with the sales group.',  # a product name
        'KeePass: "Finance vault" was moved to the new share.',
        "the password is javax.crypto.spec.secretkey",  # a dotted code name, not a passphrase
        "Password: internationalisation",  # one long word
        "Κωδικός: βλέπε το συνημμένο",
        "הסיסמה נשלחה בנפרד",
    ],
)
def test_third_round_near_misses(engine, text):
    assert not any(r.startswith("human.") for r in found(engine, text).values()), text


def test_codes_in_more_languages_and_reset_pins(engine):
    check(
        engine,
        [
            ("your voicemail PIN has been reset to 482916 as requested.", "482916"),
            ("Il PIN per sbloccare le stampe riservate al piano terra è 7361.", "7361"),
            ("La combinación de la caja fuerte del almacén es 41-17-58.", "41-17-58"),
            ("De code van het sleutelkastje bij de receptie is 6284.", "6284"),
            ("Koden til døren ind til lageret er 3970.", "3970"),
            ("Код от сейфа в кабинете: 581734.", "581734"),
            ("Kode pintu gudang adalah 4829", "4829"),
            ("Codul ușii este 5941", "5941"),
            ("Ο κωδικός του συναγερμού είναι 8052", "8052"),
            ("הקוד של הכספת הוא 6284", "6284"),
            ("A széf kódja 7316", "7316"),
            ("Code to arm/disarm is 4817", "4817"),
        ],
        [
            "your voicemail PIN has been reset, choose a new one at the prompt",
            "Kode pintu berubah setiap bulan, tanya resepsionis",
            "the error code of the door controller is E4011",
            "Код от сейфа у бухгалтера.",
        ],
    )


def test_network_device_configuration_in_clear(engine):
    check(
        engine,
        [
            ("All routers now use it:\n  conf t\n   enable secret 0 Wd7$kq3Lpz8Rt\n  end", "Wd7$kq3Lpz8Rt"),
            ("tacacs server TAC-2\n address ipv4 192.0.2.11\n key Nz4*Rw8mTq2Lp\n!", "Nz4*Rw8mTq2Lp"),
            ("radius-server host 192.0.2.21 auth-port 1812 key Kt6!pWm3Zq8x", "Kt6!pWm3Zq8x"),
            (
                "you need the RADIUS shared secret for the new APs. It's Bq9#tLm2Wz7Kp (same on both).",
                "Bq9#tLm2Wz7Kp",
            ),
        ],
        [
            "tacacs server TAC-2\n address ipv4 192.0.2.11\n key 7 0822455D0A16544541\n!",
            "snmp-server community public RO",
            ".card { border-radius: 4px; }\n.key { color: red }",
        ],
    )
    hashed = (
        "enable secret 5 $1$wxyz$Lm3rT7yUiOpAsDfGhJkQ0."  # a crypt hash: the hash rule's, not a typed secret
    )
    assert not any(r.startswith("human.") for r in found(engine, hashed).values())


def test_user_slash_password_after_is_and_in_chat_exports(engine):
    check(
        engine,
        [
            ("The SFTP account for the file drop is nw_ledger / Tq7?mWz2LpRk", "Tq7?mWz2LpRk"),
            ("[02:17] s.ito: dbadmin / Harbor715*", "Harbor715*"),
            ("not sure who asked but it's hr.portal / lantern$Maple4 for the admin view", "lantern$Maple4"),
            ("root/Kx4@TqW93zLp on the new hypervisor", "Kx4@TqW93zLp"),
        ],
        [
            "The build matrix is amd64 / arm64 for now",
            "[02:17] s.ito: src / lib",
        ],
    )


def test_login_with_user_and_password_opens_with_and_password_stdin(engine):
    check(
        engine,
        [
            ("you can log in with qa.admin and 07Harbor#tulip if you want to look around", "07Harbor#tulip"),
            (
                "The KeePass DB for the team opens with walnut.meadow.falcon.pepper",
                "walnut.meadow.falcon.pepper",
            ),
            (
                "$ echo 'Rk8_pW2qLz#4Tn' | docker login registry.example.net -u ci --password-stdin",
                "Rk8_pW2qLz#4Tn",
            ),
        ],
        [
            "you can log in with your badge and your usual password",
            "The KeePass DB opens with the master password from the envelope",
            'echo "$REGISTRY_TOKEN" | docker login ghcr.io -u ci --password-stdin',
        ],
    )


def test_recovery_codes_after_a_file_name_or_an_address_and_tab_separated_exports(engine):
    check(
        engine,
        [
            (
                "Recovery codes for the bot account:\n---- bot-recovery-codes.txt ----\n4f2c1-9a7d3\n",
                "4f2c1-9a7d3",
            ),
            ("Backup verification codes\nops@example.org\n\n1. 3817 6402    2. 9051 2746\n", "3817 6402"),
            ("System\tUsername\tPassword\tOwner\nNAS\tadmin\tMeadow481@\tIT Ops\n", "Meadow481@"),
        ],
        [
            "Recovery codes: print them and keep them in the safe.\n---- instructions.txt ----\nsee page 2\n",
            "System\tUsername\tPassword\tOwner\nNAS\tadmin\t(moved to vault)\tIT Ops\n",
        ],
    )


def test_hex_api_key_named_in_other_languages(engine):
    check(
        engine,
        [
            (
                "Chave da API do gateway (produção): 7d1f0c9b2e4a6358b0c7e1d2f3a49b86c5e07d12",
                "7d1f0c9b2e4a6358b0c7e1d2f3a49b86c5e07d12",
            ),
            (
                "Der API-Schlüssel für das Portal ist 3b9e5a1c7f2d4068e9a1b3c5d7f90e2a",
                "3b9e5a1c7f2d4068e9a1b3c5d7f90e2a",
            ),
        ],
        [
            "Chave da API: 00000000000000000000000000000000",
            "Der API-Schlüssel steht im Tresor.",
        ],
    )


def test_top_posted_reply_to_a_request_for_the_password(engine):
    request = "\n\nSent from my phone\n\n> On 9 Apr 2026, at 10:02, Lea Brandt <lea@example.org> wrote:\n"
    check(
        engine,
        [
            (
                "Osprey_Lantern-572" + request + "> Could you text me the password for the lab NAS?",
                "Osprey_Lantern-572",
            )
        ],
        [
            "Osprey_Lantern-572" + request + "> Could you text me the address of the lab NAS?",
            "Will do" + request + "> Could you text me the password for the lab NAS?",
        ],
    )


def test_third_dev_corpus_end_to_end_as_an_mbox(tmp_path):
    """corpus3.jsonl (written blind to the second round's rules): 72.7% found and 2/126 flagged before this round,
    122/128 (95.3%) found and 0/126 flagged after."""
    recall, flagged, npos, nneg = _corpus_through_mbox(CORPUS3, tmp_path)
    assert npos >= 120 and nneg >= 120
    assert recall >= 0.92, f"recall {recall:.1%}"
    assert flagged <= 0.02, f"flagged {flagged:.1%}"
