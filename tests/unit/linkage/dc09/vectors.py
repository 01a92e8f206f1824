"""Published DC-09 frames, each with where it comes from. Real devices' frames were copied
from the byte dumps or logs in the named issues; the CRC and length of each were checked."""

from __future__ import annotations

# CRC-16/ARC check value: CRC of b"123456789" (the CRC catalogue, e.g. docs.rs crc-catalog
# CRC_16_ARC: poly 0x8005 reflected 0xA001, init 0, check 0xbb3d).
CRC_CHECK = (b"123456789", 0xBB3D)

# The example messages of ANSI/SIA DC-09 itself (sequence 9876, receiver R579BDF, line
# L789ABC, account 12345A, fire alarm zone 129). The standard's text is not available here:
# these are the examples as independent receiver implementations reproduce them in their tests
# and comments (eavanvalkenburg/pysiaalarm tests/test_sia_package_cases.py case_dc04 and
# case_adm_cid, with a timestamp they appended cut off again; a C# receiver's test comments
# for the M-block one: "SEQ: 9876 RCVR: 579BDF pref: 789ABC acct: 12345A, Fire Alarm, Zone
# 129, Non-Encrypted, No Timestamp, xData: MAC Address"), each with its CRC and length.
STANDARD_SIA_DCS = b'\nCE110032"SIA-DCS"9876R579BDFL789ABC#12345A[#12345A|NFA129]\r'
STANDARD_ADM_CID = b'\n87CD0037"ADM-CID"9876R579BDFL789ABC#12345A[#12345A|1110 00 129]\r'
STANDARD_MAC_BLOCK = (
    b'\n8C860043"SIA-DCS"9876R579BDFL789ABC#123456A[#123456A|NFA129][M1234567890AB]\r'
)

# The standard's example message encrypted by the DC-09 generator (dc09gen.northlat.com), as
# cited in schmupu/ioBroker.sia src/lib/sia.ts. That tool reads the key
# "0123456789ABCDEF0123456789ABCDEF" as 32 hex digits, 16 bytes (this gateway, like the
# receivers of the real panels above, uses a key's characters as written); its pad is 13 "p"
# and "|". The frame's CRC and length were not published with it.
DC09GEN_KEY = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
DC09GEN_HEADER = b'"*SIA-DCS"9876R579BDFL789ABC#12345A['
DC09GEN_CIPHER = (
    "209c9d400b655df7a26aecb6a887e7ee6ed8103217079aae"  # 48 bytes: three AES blocks
    "7cbd9dd7551e96823263460f7ef0514864897ae9789534f1"
)
DC09GEN_REGION = "12345A|NFA129]_13:14:15,02-15-2006"  # what follows the pad's "|"
DC09GEN_PAD = b"p" * 13

# fioletoven/dc09, common/src/dc09/message.tests.rs (to_string_test, parse_message_test,
# parse_nak_test).
FIOLETOVEN_EVENT = b'\nF4D20029"SIA-DCS"0001RF3L77#1234[#1234|NRR|Atest]\r'
FIOLETOVEN_EMPTY = b'\n96ED0016"SIA-DCS"0001L0#1234[]\r'
FIOLETOVEN_NAK = b'\nE4410025"NAK"0000R0L0A0[]_16:20:01,09-24-2025\r'

# Real panels. Supergiovane/node-red-contrib-sia-ultimate issue #2 (byte dump):
NODE_RED_RP = b'\nF2EA003B"SIA-DCS"1667L0#0000[#0000|Nri0/RP0000]_12:44:06,12-22-2021\r'
# home-assistant/home-assistant.io issue #21253 (tcpdump of a panel):
HA_BA = (
    b'\n01CD005F"SIA-DCS"1783L0#000110[#000110|Nri1BA503^Volum.Taverna   Appartam.Giorno ^]'
    b"_11:49:27,01-20-2022\r"
)
# schmupu/ioBroker.sia issue #19 (G90B-PLUS panel, byte dump; note the bare "L" line):
IOBROKER_CQ = b'\n78FC003B"SIA-DCS"0001L#22334455[#22334455|NCQ1]_14:33:53,02-09-2020\r'

# schmupu/ioBroker.sia test/siaCommandENC with key "0123456789ABCDEF" (test/siatest.txt):
# a real panel's encrypted message; 16 binary pad bytes, the key used as its ASCII characters.
IOBROKER_ENCRYPTED_KEY = "0123456789ABCDEF"
IOBROKER_ENCRYPTED = (
    b'\nAEAE0137"*SIA-DCS"0018L0#12345['
    b"4cea0b8eb4752a51724c2c55f3801a6e35cb21d25e014290c29995e7cdbbb4659747c1e185c3627db92251"
    b"3d6d5cbb33440d09eefa204e96d62c9c9fc6ffaa5abeccfce859dd540f74cba79c04a048a9b597c12b027f"
    b"6366a3817d1dd6e26e2019d33075a67ab4a74221f57450070a7f0de890d087c64e76db6893c192ef5e1676"
    b"2ef9934bbfc516d041ad71c47d4dd0\r"
)
IOBROKER_ENCRYPTED_DATA = (
    "#12345|Nri0000pi0006da10-26-18ti09:50:24UT0000"
    "^$PR,SCOMPARSA          ,Centrale,Zona1,ROtTe.6MyLittlPoint^"
)

# eavanvalkenburg/pysiaalarm tests/test_sia_package_cases.py (case_null) with the key of
# tests/encrypted_config.json, "AAAAAAAAAAAAAAAA": an encrypted NULL whose pad has no "|".
PYSIAALARM_NULL_KEY = "AAAAAAAAAAAAAAAA"
PYSIAALARM_NULL = (
    b'\n76D80055"*NULL"0000R0L0#AAAB['
    b"B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9\r"
)
