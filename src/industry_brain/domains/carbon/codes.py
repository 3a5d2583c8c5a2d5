"""双码 (企业码 + 碳效码): the signed payload, Ed25519 keys and the QR code (segno).

Payload (one line of ASCII, fields in this fixed order, ``;``-separated)::

    IBC1;uscc=91330502MA2B3C4D1U;year=2025;scale=above;level=M;grade=4;
    issued=2026-03-01;expires=2027-03-01;kid=3f9a0c1d2b4e5f60;sig=<base64url, 86 chars>

(shown wrapped; it is one line). ``scale`` is ``above`` (规上, Huzhou method) or ``below`` (规下
proxy); ``level`` is L 低碳 / M 中碳 / H 高碳; ``kid`` names the signing key (first 16 hex
digits of the SHA-256 of the raw public key); ``sig`` is the Ed25519 signature of every byte
before ``;sig=``. Anyone holding the public key checks the signature and the dates offline.

Keys live in ``$IB_DATA_DIR/keys``: ``<kid>.key.pem`` (PKCS#8 private key, mode 0600),
``<kid>.pub.pem`` (public key) and ``active`` (the kid used for signing).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from industry_brain.core import parameters
from industry_brain.core import uscc as uscc_mod
from industry_brain.core.errors import IBError, Location
from industry_brain.domains.carbon.errors import CarbonError, CodeInvalid
from industry_brain.domains.carbon.models import CarbonCode
from industry_brain.domains.carbon.rules import LEVEL_EN, on_date
from industry_brain.domains.carbon.service import result_for
from industry_brain.store.audit import record
from industry_brain.store.db import data_dir
from industry_brain.store.enterprises import get_by_uscc

PREFIX = "IBC1"
FIELDS = ("uscc", "year", "scale", "level", "grade", "issued", "expires", "kid")
LEVEL_CODES = {"低碳": "L", "中碳": "M", "高碳": "H"}
LEVEL_NAMES = {v: k for k, v in LEVEL_CODES.items()}
SCALES = {"above": "规上", "below": "规下"}


# -- keys -------------------------------------------------------------------------------------
def keys_dir() -> Path:
    return data_dir() / "keys"


@dataclass
class KeyInfo:
    kid: str
    public_path: Path
    private_path: Path | None
    created_at: str
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "public_key": str(self.public_path),
            "private_key": str(self.private_path) if self.private_path else None,
            "created_at": self.created_at,
            "active": self.active,
        }


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(directory: Path | None = None) -> KeyInfo:
    """A new Ed25519 key pair; it becomes the active signing key (older public keys stay, so
    codes they signed still verify)."""
    directory = directory or keys_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    priv_path = directory / f"{kid}.key.pem"
    pub_path = directory / f"{kid}.pub.pem"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(priv_path, 0o600)
    pub_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (directory / "active").write_text(kid + "\n", "ascii")
    return KeyInfo(kid, pub_path, priv_path, _mtime(pub_path), True)


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def list_keys(directory: Path | None = None) -> list[KeyInfo]:
    directory = directory or keys_dir()
    active = _active_kid(directory)
    out = []
    for pub in sorted(directory.glob("*.pub.pem"), key=lambda p: p.stat().st_mtime):
        kid = pub.name.removesuffix(".pub.pem")
        priv = directory / f"{kid}.key.pem"
        out.append(KeyInfo(kid, pub, priv if priv.exists() else None, _mtime(pub), kid == active))
    return out


def _active_kid(directory: Path) -> str | None:
    path = directory / "active"
    return path.read_text("ascii").strip() if path.exists() else None


def _no_key() -> CarbonError:
    return CarbonError(
        "carbon.no_signing_key",
        "没有签名密钥：请先运行 industry-brain keys generate",
        "no signing key: run `industry-brain keys generate` first",
        Location(field="key"),
    )


def signing_key(directory: Path | None = None) -> tuple[str, Ed25519PrivateKey]:
    directory = directory or keys_dir()
    kid = _active_kid(directory)
    path = directory / f"{kid}.key.pem" if kid else None
    if path is None or not path.exists():
        raise _no_key()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CarbonError(
            "carbon.key_type",
            f"密钥文件 {path.name} 不是 Ed25519 私钥",
            f"key file {path.name} is not an Ed25519 private key",
            Location(file=str(path)),
        )
    return kid, key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise CarbonError(
            "carbon.key_type",
            f"公钥文件 {Path(path).name} 不是 Ed25519 公钥",
            f"public key file {Path(path).name} is not an Ed25519 public key",
            Location(file=str(path)),
        )
    return key


def public_keys(directory: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """kid → public key, from the ``*.pub.pem`` files of the keys folder."""
    directory = directory or keys_dir()
    keys = {}
    for pub in directory.glob("*.pub.pem"):
        key = load_public_key(pub)
        keys[key_id(key)] = key
    return keys


def public_pem(kid: str | None = None, directory: Path | None = None) -> str:
    directory = directory or keys_dir()
    kid = kid or _active_kid(directory)
    path = directory / f"{kid}.pub.pem"
    if not kid or not path.exists():
        raise _no_key()
    return path.read_text("ascii")


# -- payload ----------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_payload(fields: dict[str, Any], kid: str, key: Ed25519PrivateKey) -> str:
    body = ";".join([PREFIX, *(f"{k}={fields[k] if k != 'kid' else kid}" for k in FIELDS)])
    return f"{body};sig={_b64(key.sign(body.encode('ascii')))}"


@dataclass
class VerifiedCode:
    uscc: str
    year: int
    scale: str
    level: str
    grade: int
    issued: date
    expires: date
    kid: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": True,
            "uscc": self.uscc,
            "year": self.year,
            "scale": self.scale,
            "scale_zh": SCALES[self.scale],
            "level": self.level,
            "level_zh": LEVEL_NAMES[self.level],
            "level_en": LEVEL_EN[LEVEL_NAMES[self.level]],
            "grade": self.grade,
            "issued": self.issued.isoformat(),
            "expires": self.expires.isoformat(),
            "kid": self.kid,
        }


def _invalid(code: str, zh: str, en: str, value: Any = None) -> CodeInvalid:
    return CodeInvalid(f"carbon.code_{code}", zh, en, Location(field="payload"), value)


_FIELD_RE = {
    "year": re.compile(r"\d{4}"),
    "scale": re.compile(r"above|below"),
    "level": re.compile(r"[LMH]"),
    "grade": re.compile(r"[1-5]"),
    "issued": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "expires": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "kid": re.compile(r"[0-9a-f]{16}"),
}


def parse_payload(payload: str) -> tuple[dict[str, str], bytes, bytes]:
    """(fields, signed bytes, signature) of a payload, checking its syntax only."""
    text = payload.strip()
    body, sep, sig = text.rpartition(";sig=")
    parts = body.split(";") if sep else []
    if not sep or not parts or parts[0] != PREFIX or len(parts) != len(FIELDS) + 1:
        raise _invalid(
            "malformed",
            f"不是碳效码内容（应以 {PREFIX}; 开头，含 {len(FIELDS)} 个字段和 sig）",
            f"not a carbon-efficiency code payload (expected {PREFIX}; then "
            f"{len(FIELDS)} fields and sig)",
        )
    fields: dict[str, str] = {}
    for name, part in zip(FIELDS, parts[1:], strict=True):
        key, eq, value = part.partition("=")
        pattern = _FIELD_RE.get(name)
        if key != name or not eq or (pattern is not None and not pattern.fullmatch(value)):
            raise _invalid(
                "malformed",
                f"字段“{name}”缺失或格式不对：{part}",
                f"field '{name}' is missing or malformed: {part}",
                part,
            )
        fields[name] = value
    try:
        signature = _unb64(sig)
    except ValueError as exc:
        raise _invalid("malformed", "签名不是 base64url", "signature is not base64url") from exc
    return fields, body.encode("ascii", errors="replace"), signature


def verify_payload(
    payload: str,
    keys: dict[str, Ed25519PublicKey] | None = None,
    today: date | None = None,
) -> VerifiedCode:
    """Check syntax, signature (offline, from the public key) and the validity dates."""
    fields, body, signature = parse_payload(payload)
    keys = public_keys() if keys is None else keys
    key = keys.get(fields["kid"])
    if key is None:
        raise _invalid(
            "unknown_key",
            f"签名密钥 {fields['kid']} 未知（不是本平台签发，或缺少对应公钥）",
            f"signing key {fields['kid']} is unknown (not issued here, or its public key "
            "is missing)",
            fields["kid"],
        )
    try:
        key.verify(signature, body)
    except InvalidSignature as exc:
        raise _invalid(
            "bad_signature",
            "签名无效：内容被篡改或伪造",
            "invalid signature: the payload was altered or forged",
        ) from exc
    try:
        code_uscc = uscc_mod.normalize(fields["uscc"])
        issued = date.fromisoformat(fields["issued"])
        expires = date.fromisoformat(fields["expires"])
    except (IBError, ValueError) as exc:
        raise _invalid("malformed", f"字段取值无效：{exc}", f"invalid field value: {exc}") from exc
    today = today or date.today()
    if today < issued:
        raise _invalid(
            "not_yet_valid",
            f"碳效码自 {issued} 起生效，尚未生效",
            f"the code is valid from {issued}, not yet",
            fields["issued"],
        )
    if today > expires:
        raise _invalid(
            "expired",
            f"碳效码已于 {expires} 过期",
            f"the code expired on {expires}",
            fields["expires"],
        )
    return VerifiedCode(
        uscc=code_uscc,
        year=int(fields["year"]),
        scale=fields["scale"],
        level=fields["level"],
        grade=int(fields["grade"]),
        issued=issued,
        expires=expires,
        kid=fields["kid"],
    )


# -- issue ------------------------------------------------------------------------------------
@dataclass
class IssuedCode:
    payload: str
    uscc: str
    name: str
    year: int
    level: str
    grade: int
    label: str
    colour: str
    issued: date
    expires: date
    kid: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


def issue_code(
    session: Session,
    uscc: str,
    year: int | None = None,
    actor: str = "system",
    today: date | None = None,
) -> IssuedCode:
    """Sign a code for the enterprise's current graded result of ``year`` (default latest)."""
    ent = get_by_uscc(session, uscc)
    res = result_for(session, ent, year, graded_only=True)
    today = today or date.today()
    params = parameters.load()
    on = on_date(res.year)
    days = int(params.get("carbon.code.validity_days", ent.county_code, on))
    colours = params.get("carbon.colours", ent.county_code, on)
    kid, key = signing_key()
    expires = today + timedelta(days=days)
    fields = {
        "uscc": ent.uscc,
        "year": res.year,
        "scale": "above" if res.above_scale else "below",
        "level": LEVEL_CODES[res.level],
        "grade": res.grade,
        "issued": today.isoformat(),
        "expires": expires.isoformat(),
    }
    payload = sign_payload(fields, kid, key)
    session.add(
        CarbonCode(
            enterprise_id=ent.id,
            result_id=res.id,
            year=res.year,
            level=res.level,
            grade=res.grade,
            issued_on=today,
            expires_on=expires,
            key_id=kid,
            payload=payload,
            issued_by=actor,
        )
    )
    record(
        session,
        actor,
        "carbon.code.issue",
        "enterprise",
        ent.uscc,
        {"year": res.year, "grade": res.grade, "level": res.level, "kid": kid},
    )
    session.flush()
    return IssuedCode(
        payload=payload,
        uscc=ent.uscc,
        name=ent.name,
        year=res.year,
        level=res.level,
        grade=int(res.grade),
        label=res.label or "",
        colour=str(colours[int(res.grade) - 1]),
        issued=today,
        expires=expires,
        kid=kid,
    )


def qr(payload: str) -> segno.QRCode:
    """The QR symbol of a payload (error correction M, byte mode)."""
    return segno.make_qr(payload, error="m")


#: the QR modules are always dark on white (scanners need the contrast); the grade colour is a
#: frame around the quiet zone, FRAME_MODULES modules wide
MODULE_COLOUR = "#111111"
QUIET_ZONE = 4
FRAME_MODULES = 3


def svg_bytes(payload: str, colour: str, scale: int = 4) -> bytes:
    """The QR symbol as SVG: dark modules on white inside a frame of the grade ``colour``."""
    symbol = qr(payload)
    buf = io.BytesIO()
    symbol.save(
        buf,
        kind="svg",
        scale=scale,
        border=QUIET_ZONE,
        dark=MODULE_COLOUR,
        light="#FFFFFF",
        xmldecl=False,
        nl=False,
    )
    inner = buf.getvalue().decode("utf-8")
    frame = FRAME_MODULES * scale
    size = symbol.symbol_size(scale=scale, border=QUIET_ZONE)[0] + 2 * frame
    inner = inner.replace("<svg ", f'<svg x="{frame}" y="{frame}" ', 1)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}"><rect width="{size}" height="{size}" '
        f'fill="{colour}"/>{inner}</svg>'
    ).encode()


def png_bytes(payload: str, colour: str, scale: int = 6) -> bytes:
    """The QR symbol as PNG, framed like :func:`svg_bytes`."""
    buf = io.BytesIO()
    qr(payload).save(
        buf, kind="png", scale=scale, border=QUIET_ZONE, dark=MODULE_COLOUR, light="#FFFFFF"
    )
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        framed = ImageOps.expand(img.convert("RGB"), border=FRAME_MODULES * scale, fill=colour)
        out = io.BytesIO()
        framed.save(out, format="PNG")
    return out.getvalue()


def save_svg(code: IssuedCode, path: Path, scale: int = 4) -> Path:
    Path(path).write_bytes(svg_bytes(code.payload, code.colour, scale))
    return path


def save_png(code: IssuedCode, path: Path, scale: int = 6) -> Path:
    Path(path).write_bytes(png_bytes(code.payload, code.colour, scale))
    return path
