#!/usr/bin/env python3
"""Generates a ClamAV signature database of realistic size and shape for
bench/sigdb.sh (python3 standard library only, deterministic for a seed).

    python3 bench/sigdb_gen.py OUTDIR [--scale 1.0] [--seed 1] [--plant DIR]

Writes into OUTDIR, named like the parts of main and daily:

  bench-main.ndb   body signatures (2/3 of the body signatures)
  bench-daily.ndb  body signatures (1/3)
  bench-daily.ldb  logical signatures (2-4 subsignatures each)
  bench-main.hdb   MD5:size:name          file hashes
  bench-daily.hsb  SHA-256:size:name      file hashes
  bench-main.mdb   size:MD5:name          PE section hashes
  bench-daily.fp   MD5:size:name          false-positive (allow) hashes
  bench-daily.ign2 signature names to ignore

At --scale 1.0: 300,000 .ndb, 20,000 .ldb, 1,500,000 .hdb, 1,500,000 .hsb,
1,000,000 .mdb, 3,000 .fp, 60 .ign2 lines: about 4.3 million signatures,
roughly half of a current main + daily (about 8-9 million, nearly all of the
rest being more hashes). Hash signatures are uniformly random digests (real
digests are), with realistic sizes.

Why body signatures are not uniformly random bytes: ClamAV's matchers
(the static prefilter, the Aho-Corasick trie of depth 2-3 and the
Boyer-Moore shift table) work because real signatures cluster: they are
x86/x64 code (common opcodes, ModRM bytes, with call/jump displacements and
addresses wildcarded), ASCII and UTF-16 strings (API names, URLs, registry
keys, script fragments), file-format structure (MZ/PE/ELF headers, section
names), and only a minority is opaque data (packed or encrypted payload
fragments). Uniformly random patterns fill every 2- and 3-byte prefix slot
of those structures with equal weight, so almost every position of any
input needs verification: the measured 1.3 MB/s of a first try. Here each
pattern is drawn from one of those byte sources in proportions that follow
ClamAV's documented formats and the published make-up of its databases
(target types: mostly any-file and PE; about a quarter of body signatures
with wildcards, mostly ?? runs over displacements, then {n-m} gaps, * and
byte alternations), with lengths log-normal around 40 bytes (10..300).

--plant DIR writes two files that must be detected when the whole database
is loaded: planted-ndb.bin (7-bit random data around the last plain
target-0 .ndb signature of bench-daily.ndb) and planted-hdb.bin (random
bytes whose MD5 is the last line of bench-main.hdb); DIR/planted.names
gives the two expected signature names.
"""
import argparse
import hashlib
import itertools
import math
import os
import random
import sys

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--scale", type=float, default=1.0)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--plant")
args = ap.parse_args()
if not args.scale > 0:
    sys.exit("sigdb_gen: --scale must be positive")
R = random.Random("sigdb-%d" % args.seed)
S = args.scale


def n_of(base):
    return max(1, int(round(base * S)))


N_NDB, N_LDB = n_of(300_000), n_of(20_000)
N_HDB, N_HSB, N_MDB = n_of(1_500_000), n_of(1_500_000), n_of(1_000_000)
N_FP, N_IGN = n_of(3_000), n_of(60)

# ------------------------------------------------------------------ names
PLATFORMS = [("Win", 55), ("Doc", 6), ("Html", 5), ("Js", 5), ("Unix", 5), ("Txt", 3), ("Pdf", 3),
             ("Andr", 4), ("Xls", 2), ("Osx", 1), ("Email", 3), ("Java", 1), ("Php", 2), ("Multios", 1),
             ("Img", 1), ("Swf", 1), ("Ps1", 2)]
CATEGORIES = [("Trojan", 50), ("Malware", 18), ("Downloader", 7), ("Exploit", 5), ("Dropper", 4),
              ("Worm", 3), ("Ransomware", 3), ("Coinminer", 2), ("Adware", 3), ("Virus", 2), ("Packed", 2),
              ("Phishing", 1)]
FAMILY_SYL = ["agent", "zbot", "gen", "kry", "emo", "tet", "vir", "ut", "sal", "ity", "ram", "nit", "lok",
              "bot", "qak", "ice", "dri", "dex", "fareit", "ursnif", "dridex", "nanocore", "asyncrat",
              "remcos", "formbook", "lokibot", "mirai", "gafgyt", "xmrig", "cobalt", "strike", "njrat"]


_CUM = {}


def wchoice(pairs):
    """One value of [(value, weight)], by weight."""
    cum = _CUM.get(id(pairs))
    if cum is None:
        cum = _CUM[id(pairs)] = (list(v for v, _ in pairs), list(itertools.accumulate(w for _, w in pairs)))
    return R.choices(cum[0], cum_weights=cum[1])[0]


FAMILIES = []
for _ in range(4000):  # a few thousand families, used Zipf-like
    f = R.choice(FAMILY_SYL) + (R.choice(FAMILY_SYL) if R.random() < 0.5 else "")
    FAMILIES.append(f.capitalize())
# name prefixes Platform.Category.Family, drawn once (names cost most of the
# hash files' time otherwise)
PREFIX = {}
for plat in [p for p, _ in PLATFORMS] + [None]:
    PREFIX[plat] = ["%s.%s.%s" % (plat or wchoice(PLATFORMS), wchoice(CATEGORIES),
                                  FAMILIES[int(R.paretovariate(0.7)) % len(FAMILIES)]) for _ in range(4096)]
sig_id = [6_000_000]


def sig_name(platform=None):
    sig_id[0] += 1 + R.getrandbits(5)
    return "%s-%d-%d" % (PREFIX[platform][R.getrandbits(12)], sig_id[0], R.getrandbits(2) % 3)


# ------------------------------------------------------------------ byte sources
# x86 / x64 code: (opcode bytes, operand kinds). 'r' = random byte operand,
# 'd' = 4-byte displacement/immediate (wildcarded in a signature a quarter of the time)
X86 = [
    ("55", ""), ("8bec", ""), ("89e5", ""), ("83ec", "r"), ("81ec", "d"), ("5d", ""), ("c3", ""),
    ("c9", ""), ("e8", "d"), ("e9", "d"), ("eb", "r"), ("74", "r"), ("75", "r"), ("0f84", "d"),
    ("0f85", "d"), ("33c0", ""), ("31c0", ""), ("85c0", ""), ("8b45", "r"), ("8b4d", "r"), ("8b55", "r"),
    ("8945", "r"), ("894d", "r"), ("8d45", "r"), ("8d4d", "r"), ("50", ""), ("51", ""), ("52", ""),
    ("53", ""), ("56", ""), ("57", ""), ("5e", ""), ("5f", ""), ("5b", ""), ("6a", "r"), ("68", "d"),
    ("ff15", "d"), ("ff75", "r"), ("ffd0", ""), ("83f8", "r"), ("3d", "d"), ("83c4", "r"), ("8b0d", "d"),
    ("a1", "d"), ("c745", "rd"), ("8b40", "r"), ("8b08", ""), ("40", ""), ("41", ""), ("47", ""),
    ("4889", "r"), ("488b", "r"), ("4883ec", "r"), ("4883c4", "r"), ("48895c24", "r"), ("4c8bc0", ""),
    ("488d0d", "d"), ("488d15", "d"), ("ff15", "d"), ("4533c0", ""), ("33d2", ""), ("b9", "d"),
    ("ba", "d"), ("b8", "d"), ("e2", "r"), ("3202", ""), ("3001", ""), ("80f1", "r"), ("80340e", "r"),
    ("fec0", ""), ("d3e0", ""), ("c1e0", "r"), ("c1e8", "r"), ("0fb6", "r"), ("f3a4", ""), ("f3ab", ""),
    ("90", ""), ("cc", ""), ("6467a13000", ""), ("64a130000000", ""), ("8b400c", ""), ("8b7014", ""),
]
X86_CUM = list(itertools.accumulate(
    8 if op in ("e8", "55", "8bec", "8b45", "ff15", "50", "6a", "68", "c3") else 2 for op, _ in X86))


def code_bytes(n):
    """Hex text of about n bytes of x86/x64 code, ?? over wildcarded displacements."""
    out, size = [], 0
    for op, kinds in R.choices(X86, cum_weights=X86_CUM, k=n):
        if size >= n:
            break
        part = op
        for k in kinds:
            if k == "r":
                part += "%02x" % R.choice([R.randrange(256), 0xf8, 0xfc, 0x08, 0x0c, 0x10, 0xf4, 0x01, 0x00])
            else:
                part += "????????" if R.random() < 0.25 else "%08x" % R.getrandbits(32)
        out.append(part)
        size += len(part) // 2
    return "".join(out)


WORDS = ["CreateRemoteThread", "VirtualAllocEx", "WriteProcessMemory", "GetProcAddress", "LoadLibraryA",
         "URLDownloadToFileA", "WinExec", "ShellExecuteA", "InternetOpenUrlA", "RegSetValueExA",
         "NtUnmapViewOfSection", "IsDebuggerPresent", "CryptEncrypt", "GetTempPathA", "cmd.exe /c ",
         "powershell -nop -w hidden -enc ", "http://", "https://", "/gate.php", "/panel/", ".onion",
         "Software\\Microsoft\\Windows\\CurrentVersion\\Run", "HKEY_CURRENT_USER", "vssadmin delete shadows",
         "bcdedit /set", "schtasks /create", "eval(function(p,a,c,k,e,d)", "document.write(unescape(",
         "String.fromCharCode(", "<iframe src=", "<script>", "ActiveXObject", "WScript.Shell",
         "base64_decode(", "gzinflate(", "$_POST[", "/bin/sh", "/tmp/.", "chmod 777", "wget http",
         "busybox", "crontab", "AutoOpen", "Document_Open", "Shell(", "CreateObject(", "Chr(", "Environ(",
         "YOUR FILES ARE ENCRYPTED", "bitcoin", "ransom", "stratum+tcp://", "xmrig", "mimikatz",
         "sekurlsa::", "Invoke-Expression", "FromBase64String", "JFIF", "PK\x03\x04", "This program cannot"]
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def token():
    """A unique-ish identifier: hostnames, mutexes, file names, keys in real signatures."""
    kind = R.random()
    if kind < 0.3:
        return "".join(R.choice(ALNUM) for _ in range(R.randint(6, 14))) + R.choice([".com", ".ru", ".net", ".exe", ".dll", ".xyz"])
    if kind < 0.5:
        return "Global\\" + "".join(R.choice("0123456789ABCDEF") for _ in range(R.randint(8, 16)))
    if kind < 0.7:
        return "%d.%d.%d.%d" % (R.randint(11, 223), R.randrange(256), R.randrange(256), R.randrange(256))
    return "".join(R.choice(ALNUM + "_") for _ in range(R.randint(6, 16)))


def string_bytes(n, utf16=False, lower=False):
    """ASCII (or UTF-16LE) text of about n bytes: API names, URLs, commands...
    ending in a distinctive token (host, mutex, IP, file name), as a real
    string signature is not a bare API name that every program contains."""
    parts = []
    while sum(len(p) for p in parts) < n:
        parts.append(R.choice(WORDS) if R.random() < 0.55 else token())
        if R.random() < 0.4:
            parts.append(R.choice([" ", "\\", "/", "=", "\"", ";", "\x00"]))
    tail = token()
    if not any(c.isdigit() for c in tail):
        tail += str(R.randint(10, 99999))
    # starts where an analyst starts (a whole API name, URL, command): few
    # distinct prefixes, as in real string signatures; ends in the token
    s = "".join(parts)[:max(4, n - len(tail))] + tail
    if lower:
        s = s.lower()
    b = s.encode("latin-1", "replace")
    if utf16:
        b = b"".join(bytes([c, 0]) for c in b)
    return b.hex()


HEADERS = ["4d5a90000300000004000000ffff0000b800000000000000400000", "504500004c01", "504500006486",
           "2e746578740000", "2e7264617461", "2e64617461000000", "2e727372630000", "55505830000000",
           "555058310000", "7f454c46010101", "7f454c46020101", "feedfacf07000001", "cafebabe0000",
           "d0cf11e0a1b11ae1", "255044462d312e", "504b03041400", "0000000000000000", "ffffffff"]


def structure_bytes(n):
    """A format header or section name (often at its offset) followed by the
    sample's own bytes: a signature on a bare header would match every file
    of that format, so at least 8 distinctive bytes follow (some 00/ff, as
    header fields are)."""
    h = R.choice(HEADERS)
    rest = max(8, n - len(h) // 2)
    return h + "".join("%02x" % R.randrange(256) if i % 3 else R.choice(["00", "ff", "%02x" % R.randrange(256)])
                       for i in range(rest))


def data_bytes(n):
    """Opaque data: packed/encrypted fragments, tables, keys (uniform bytes)."""
    return R.getrandbits(8 * n).to_bytes(n, "little").hex()


def body_len():
    return int(min(300, max(10, R.lognormvariate(math.log(40), 0.6))))


# target type -> (weight, sources with weights)
TARGETS = [
    (0, 34, [("code", 35), ("string", 30), ("struct", 10), ("data", 25)]),
    (1, 44, [("code", 60), ("string", 20), ("struct", 5), ("data", 15)]),
    (2, 3, [("string", 60), ("code", 20), ("data", 20)]),
    (3, 6, [("string_lower", 100)]),
    (4, 1, [("string", 80), ("data", 20)]),
    (5, 1, [("struct", 40), ("data", 60)]),
    (6, 4, [("code", 50), ("string", 40), ("data", 10)]),
    (7, 4, [("string_lower", 100)]),
    (9, 1, [("code", 60), ("string", 40)]),
    (10, 2, [("string", 70), ("data", 30)]),
]
PLATFORM_OF = {1: "Win", 2: "Doc", 3: "Html", 4: "Email", 5: "Img", 6: "Unix", 7: "Txt", 9: "Osx", 10: "Pdf"}


def raw_pattern(source, n):
    if source == "code":
        return code_bytes(n)
    if source == "string":
        return string_bytes(n, utf16=R.random() < 0.15)
    if source == "string_lower":
        return string_bytes(n, lower=True)
    if source == "struct":
        return structure_bytes(n)
    return data_bytes(n)


def tokens_of(hexs):
    """Split hex text into byte tokens ('41', '??')."""
    return [hexs[i:i + 2] for i in range(0, len(hexs), 2)]


def add_wildcards(toks):
    """About a quarter of body signatures carry wildcards beyond the ??
    displacements of code: {n-m} gaps, * , ?? runs and (aa|bb) alternations.
    Every literal run next to a gap or * stays at least 4 bytes long."""
    if R.random() >= 0.10 or len(toks) < 14:
        return toks
    orig = list(toks)
    kinds = R.choices(["gap", "star", "qq", "alt"], [40, 15, 30, 15], k=R.choice([1, 1, 1, 2]))
    for k in kinds:
        pos = R.randint(5, len(toks) - 6)
        if any(t in ("*",) or t.startswith("{") for t in toks[pos - 4:pos + 4]):
            continue
        if k == "gap":
            lo = R.choice([0, 0, 1, 2, 4, 8])
            hi = lo + R.choice([4, 8, 16, 32, 64, 128])
            toks.insert(pos, R.choice(["{%d-%d}" % (lo, hi), "{%d}" % hi, "{-%d}" % hi]))
        elif k == "star":
            toks.insert(pos, "*")
        elif k == "qq":
            for j in range(pos, min(pos + R.choice([1, 1, 2, 4]), len(toks) - 4)):
                toks[j] = "??"
        else:
            a = toks[pos]
            if a == "??" or len(a) != 2:
                continue
            alts = {a} | {"%02x" % R.randrange(256) for _ in range(R.choice([1, 1, 2, 3]))}
            toks[pos] = "(" + "|".join(sorted(alts)) + ")" if len(alts) > 1 else a
    return toks if segments_ok(toks) else orig


def segments_ok(toks):
    """Each part between * and {n-m} gaps needs a run of 3 plain bytes
    (ClamAV needs a static subpattern of 2 in every part)."""
    run, best = 0, 0
    for t in toks + ["*"]:
        if t == "*" or t.startswith("{"):
            if best < 3:
                return False
            run, best = 0, 0
        elif len(t) == 2 and t != "??":
            run += 1
            best = max(best, run)
        else:
            run = 0
    return True


def valid_edges(toks):
    """No wildcard in the first or last 4 bytes, nor a two-byte run of only
    ?? at the start (ClamAV rejects or mis-anchors those)."""
    plain = lambda t: len(t) == 2 and t != "??"  # noqa: E731
    return all(plain(t) for t in toks[:4]) and all(plain(t) for t in toks[-4:])


def body_sig():
    target, _, sources = R.choices(TARGETS, [w for _, w, _ in TARGETS])[0]
    source = wchoice(sources)
    n = body_len()
    while True:
        toks = tokens_of(raw_pattern(source, n))
        toks = toks[:n] if source in ("code", "data") else toks  # text and structure keep their token
        if len(toks) >= 10 and valid_edges(toks):
            break
        toks = [t for t in toks]
        # code may start/end with a ?? displacement: trim, else redraw
        while toks and toks[0] == "??":
            toks.pop(0)
        while toks and toks[-1] == "??":
            toks.pop()
        if len(toks) >= 10 and valid_edges(toks):
            break
    toks = add_wildcards(toks)
    offset = "*"
    x = R.random()
    if target == 1:
        if x < 0.12:
            offset = "EP+%d" % R.choice([0, 0, 0, R.randrange(0, 4096)])
        elif x < 0.17:
            offset = "SE%d" % R.randrange(0, 4)
        elif x < 0.20:
            offset = "S%d+%d" % (R.randrange(0, 5), R.randrange(0, 512))
        elif x < 0.23:
            offset = "EOF-%d" % R.randrange(len(toks), 65536)
    elif target in (0, 6, 10) and x < 0.06:
        offset = R.choice(["0", "%d" % R.randrange(0, 1024), "EOF-%d" % R.randrange(len(toks), 4096)])
    if offset != "*" and R.random() < 0.3 and not offset.startswith("EOF") and not offset.startswith("SE"):
        offset += ",%d" % R.choice([16, 64, 256, 1024])
    return "%s:%d:%s:%s" % (sig_name(PLATFORM_OF.get(target)), target, offset, "".join(toks)), target, source, toks


def write_ndb(path, n):
    kinds = {}
    last_plain = None
    with open(path, "w") as f:
        for _ in range(n):
            line, target, source, toks = body_sig()
            key = (target, source, any(len(t) != 2 or t == "??" for t in toks))
            kinds[key] = kinds.get(key, 0) + 1
            if target == 0 and line.split(":")[2] == "*" and all(len(t) == 2 and t != "??" for t in toks) \
                    and source != "string_lower":
                last_plain = line
            f.write(line + "\n")
    return kinds, last_plain


def ldb_sig():
    target = R.choices([0, 1, 2, 3, 6, 7, 10], [25, 55, 5, 5, 3, 4, 3])[0]
    k = R.choice([2, 2, 3, 3, 4])
    subs = []
    for _ in range(k):
        source = R.choice(["code", "string", "string", "data"] if target in (0, 1, 6) else ["string_lower"])
        toks = tokens_of(raw_pattern(source, R.randint(8, 40)))
        toks = [t for t in toks]
        while toks and toks[0] == "??":
            toks.pop(0)
        while toks and toks[-1] == "??":
            toks.pop()
        if len(toks) < 6 or not segments_ok(toks):
            toks = tokens_of(data_bytes(R.randint(8, 24)))
        subs.append("".join(toks))
    idx = list(range(k))
    expr = R.choice([
        "&".join(map(str, idx)),
        "(%s)&%d" % ("|".join(map(str, idx[:-1])), idx[-1]),
        "%s" % "&".join(map(str, idx)) if k < 3 else "0&1&(%s)" % "|".join(map(str, idx[2:])),
        "(%s)>1" % "|".join(map(str, idx)),
    ])
    tdb = "Engine:81-255,Target:%d" % target
    return ";".join([sig_name(PLATFORM_OF.get(target)), tdb, expr] + subs)


SIZES = [int(min(50 << 20, max(200, R.lognormvariate(math.log(150_000), 1.6)))) for _ in range(65536)]
SECTION_SIZES = [int(min(4 << 20, max(512, R.lognormvariate(math.log(40_000), 1.2)))) for _ in range(65536)]


def file_size():
    return SIZES[R.getrandbits(16)]


def write_hashes(path, n, fmt, bits):
    last = None
    with open(path, "w") as f:
        buf = []
        for i in range(n):
            h = "%0*x" % (bits // 4, R.getrandbits(bits))
            size = SECTION_SIZES[R.getrandbits(16)] if fmt == "mdb" else SIZES[R.getrandbits(16)]
            name = sig_name("Win" if fmt == "mdb" else None)
            buf.append(("%d:%s:%s" % (size, h, name)) if fmt == "mdb" else ("%s:%d:%s" % (h, size, name)))
            if len(buf) >= 50000:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")
    return last


os.makedirs(args.out, exist_ok=True)
out = lambda name: os.path.join(args.out, name)  # noqa: E731
k_main, _ = write_ndb(out("bench-main.ndb"), N_NDB - N_NDB // 3)
k_daily, planted_line = write_ndb(out("bench-daily.ndb"), max(1, N_NDB // 3))
with open(out("bench-daily.ldb"), "w") as f:
    for _ in range(N_LDB):
        f.write(ldb_sig() + "\n")
write_hashes(out("bench-main.hdb"), N_HDB, "hdb", 128)
write_hashes(out("bench-daily.hsb"), N_HSB, "hsb", 256)
write_hashes(out("bench-main.mdb"), N_MDB, "mdb", 128)
with open(out("bench-daily.fp"), "w") as f:
    for i in range(N_FP):
        f.write("%032x:%d:fp.%d.%d\n" % (R.getrandbits(128), file_size(), sig_id[0], i))
# .ign2: drop a few generated names (as daily drops false positives)
names = [l.split(":", 1)[0] for l in open(out("bench-main.ndb")).read().splitlines()[: 5 * N_IGN : 5]]
with open(out("bench-daily.ign2"), "w") as f:
    f.write("\n".join(names) + "\n")

# ------------------------------------------------------------------ summary
kinds = {}
for d in (k_main, k_daily):
    for key, v in d.items():
        kinds[key] = kinds.get(key, 0) + v
tot = sum(kinds.values())
by_t, by_s, wild = {}, {}, 0
for (t, s, w), v in kinds.items():
    by_t[t] = by_t.get(t, 0) + v
    by_s[s] = by_s.get(s, 0) + v
    wild += v if w else 0
print("ndb %d (wildcards %.0f%%) targets %s sources %s" % (
    tot, 100.0 * wild / tot, " ".join("%d:%.0f%%" % (t, 100.0 * v / tot) for t, v in sorted(by_t.items())),
    " ".join("%s:%.0f%%" % (s, 100.0 * v / tot) for s, v in sorted(by_s.items()))))
print("ldb %d hdb %d hsb %d mdb %d fp %d ign2 %d total %d" % (
    N_LDB, N_HDB, N_HSB, N_MDB, N_FP, N_IGN, tot + N_LDB + N_HDB + N_HSB + N_MDB))

if args.plant:
    os.makedirs(args.plant, exist_ok=True)
    seven = bytes(i & 0x7F for i in range(256))
    name, _, _, body = planted_line.split(":")
    with open(os.path.join(args.plant, "planted-ndb.bin"), "wb") as f:
        f.write(os.urandom(100_000).translate(seven) + bytes.fromhex(body) + os.urandom(100_000).translate(seven))
    data = os.urandom(4096).translate(seven)
    hname = "Win.Trojan.BenchPlanted-1-0"
    with open(out("bench-main.hdb"), "a") as f:
        f.write("%s:%d:%s\n" % (hashlib.md5(data).hexdigest(), len(data), hname))
    with open(os.path.join(args.plant, "planted-hdb.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(args.plant, "planted.names"), "w") as f:
        f.write("planted-ndb.bin %s\nplanted-hdb.bin %s\n" % (name, hname))
