"""Optional single sign-on over OpenID Connect (authorization code flow with PKCE).

authlib's httpx client builds the authorization URL and exchanges the code; joserfc (authlib's
JOSE library) checks the ID token: signature against the issuer's published keys, issuer,
audience, expiry and the nonce. The role comes from one claim (``IVR_OIDC_ROLE_CLAIM``) through
``IVR_OIDC_ROLE_MAP``; a person whose claim maps to no role cannot log in.

The state, nonce, PKCE verifier and the page to return to travel in a short-lived HttpOnly
cookie (SameSite=Lax, so that it comes back with the issuer's redirect), so every ``ivr serve``
process can finish a login another one started.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from ivr.config.settings import Settings

STATE_COOKIE = "ivr_sso"
STATE_TTL_S = 600
ROLE_ORDER = ("agent", "supervisor", "admin")
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
DISCOVERY_TTL_S = 3600.0


class SsoError(Exception):
    """The single sign-on did not give a usable login; the message is Indonesian, for staff."""


@dataclass(frozen=True)
class SsoIdentity:
    subject: str        # "<issuer>|<sub>": unique and stable
    username: str
    display_name: str | None
    role: str


def parse_role_map(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in text.split(","):
        if "=" in pair:
            value, role = (x.strip() for x in pair.split("=", 1))
            if value and role in ROLE_ORDER:
                out[value] = role
    return out


class OidcClient:
    def __init__(self, settings: Settings, *, http_timeout_s: float = 5.0) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        self.role_claim = settings.oidc_role_claim
        self.role_map = parse_role_map(settings.oidc_role_map)
        self.username_claim = settings.oidc_username_claim
        self.timeout = http_timeout_s
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcClient | None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            return None
        return cls(settings)

    # ------------------------------------------------------------------ the issuer
    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL_S:
            data = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(data.get("issuer", "")).rstrip("/") != self.issuer:
                raise SsoError("Penyedia SSO memberi alamat penerbit yang berbeda.")
            self._metadata, self._metadata_at, self._keys = data, time.monotonic(), None
        return self._metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            self._keys = KeySet.import_key_set(await self._get_json(str(meta["jwks_uri"])))  # type: ignore[arg-type]
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                r = await http.get(url)
                r.raise_for_status()
                data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoError("Penyedia SSO tidak dapat dihubungi.") from exc
        if not isinstance(data, dict):
            raise SsoError("Jawaban penyedia SSO tidak dikenali.")
        return data

    def _client(self, redirect_uri: str) -> Any:
        return AsyncOAuth2Client(client_id=self.client_id, client_secret=self.client_secret,
                                 scope="openid profile email", redirect_uri=redirect_uri,
                                 code_challenge_method="S256", timeout=self.timeout)

    # ------------------------------------------------------------------ the flow
    async def begin(self, redirect_uri: str, next_url: str) -> tuple[str, str]:
        """The issuer's authorization URL to send the browser to, and the state cookie's value."""
        meta = await self.metadata()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                     code_verifier=verifier)
        cookie = json.dumps({"s": state, "n": nonce, "v": verifier, "next": next_url, "t": int(time.time())},
                            separators=(",", ":"))
        return str(url), cookie

    @staticmethod
    def pending(cookie: str | None, state: str | None) -> dict[str, Any]:
        """The login this browser started, if ``state`` is its state and it is recent."""
        try:
            data = json.loads(cookie or "")
        except ValueError:
            data = None
        if not isinstance(data, dict) or not state or not secrets.compare_digest(str(data.get("s", "")), state):
            raise SsoError("Sesi masuk SSO tidak cocok atau kedaluwarsa. Silakan coba lagi.")
        if time.time() - float(data.get("t", 0)) > STATE_TTL_S:
            raise SsoError("Sesi masuk SSO kedaluwarsa. Silakan coba lagi.")
        return data

    async def finish(self, redirect_uri: str, code: str, pending: dict[str, Any]) -> SsoIdentity:
        """Exchange the code, check the ID token, map the person to a role."""
        meta = await self.metadata()
        try:
            async with self._client(redirect_uri) as client:
                token = await client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                                 code_verifier=str(pending["v"]))
        except Exception as exc:  # authlib raises its own OAuth errors and httpx's
            raise SsoError("Penyedia SSO menolak kode masuk.") from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise SsoError("Penyedia SSO tidak memberi ID token.")
        claims = await self._verify(id_token, str(pending["n"]))
        return self._identity(claims)

    async def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        for attempt in range(2):  # a new signing key: fetch the key set once more
            try:
                decoded = jwt.decode(id_token, await self.keys(refresh=attempt > 0), algorithms=ALGORITHMS)
                break
            except (JoseError, ValueError) as exc:
                if attempt:
                    raise SsoError("Tanda tangan ID token tidak sah.") from exc
        claims = dict(decoded.claims)
        registry = JWTClaimsRegistry(iss={"essential": True, "value": self.issuer},
                                     aud={"essential": True, "value": self.client_id},
                                     sub={"essential": True}, exp={"essential": True},
                                     nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SsoError("ID token tidak berlaku untuk hotline ini.") from exc
        return claims

    def _identity(self, claims: dict[str, Any]) -> SsoIdentity:
        raw = claims.get(self.role_claim)
        values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []
        roles = {self.role_map[v] for v in values if v in self.role_map}
        if not roles:
            raise SsoError("Akun SSO Anda belum diberi peran di hotline. Hubungi admin.")
        role = max(roles, key=ROLE_ORDER.index)
        username = str(claims.get(self.username_claim) or claims.get("email") or "").strip().lower()
        name = claims.get("name")
        return SsoIdentity(subject=f"{self.issuer}|{claims['sub']}", username=username,
                           display_name=str(name)[:128] if name else None, role=role)
