"""A real OpenID Connect provider for the tests, standing in for ORCID: Authlib's server
side (AuthorizationServer, the authorization code grant with the OpenID Connect
extension), RS256 ID tokens signed with a key published at a JWKS endpoint, and a
discovery document, served over HTTP on 127.0.0.1 in a thread.

The authorize endpoint approves at once for `provider.person` (the person "signed in at
ORCID"). `provider.fault` makes it misbehave the way the tests need one at a time:
  "tampered"  the ID token's payload is changed after signing (another iD), signature kept
  "forged"    the ID token is signed with a key that is not the published one (same kid)
  "audience"  the ID token is issued for another client (with azp naming ours)
  "expired"   the ID token expired an hour ago
  "nonce"     the ID token carries another nonce than the one the client sent
  "denied"    the person says no at ORCID (error=access_denied)
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
import pytest
from flask import Flask, jsonify
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "APP-GICOMMUNITYTEST"
CLIENT_SECRET = "test-client-secret-0c1d"
FAULTS = ("tampered", "forged", "audience", "expired", "nonce", "denied")


@dataclass
class Person:
    orcid_id: str
    given_name: str = ""
    family_name: str = ""
    email: str = ""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s == "openid")

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "client_secret_post" if endpoint == "token" else True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    person: Person
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return "pwd"  # a string, as ORCID writes it (its OpenID Connect guide), not the spec's list


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "orcid-test-key", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "orcid-test-key", "use": "sig", "alg": "RS256"})
        self.client = Client(CLIENT_ID, CLIENT_SECRET)
        self.person = Person("0000-0002-1825-0097", "Josiah", "Carberry")
        self.fault: str | None = None
        self.codes: dict[str, Code] = {}
        self.token_requests = 0
        self.app = self._build()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def reset(self) -> None:
        self.fault = None
        self.person = Person("0000-0002-1825-0097", "Josiah", "Carberry")
        self.codes.clear()
        self.token_requests = 0

    # ------------------------------------------------------------------ the server
    def _build(self) -> Flask:
        provider = self
        app = Flask("oidc_provider")
        app.config["OAUTH2_ERROR_URIS"] = None

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post"]

            def save_authorization_code(self, code, request):
                provider.codes[code] = Code(code, request.client.client_id, request.payload.redirect_uri,
                                            request.scope, request.payload.data.get("nonce"), request.user)

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.person

        class OrcidOpenID(OpenIDCode):
            def resolve_client_private_key(self, client):
                return provider.other_key if provider.fault == "forged" else provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_client_claims(self, client):
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": [client.get_client_id()], "iat": now, "exp": now + 600}
                if provider.fault == "audience":
                    claims.update(aud=["APP-SOMEONE-ELSE"], azp=client.get_client_id())
                if provider.fault == "expired":
                    claims.update(iat=now - 7200, exp=now - 3600, auth_time=now - 7200)
                return claims

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "orcid-test-key"}

            def get_authorization_code_claims(self, authorization_code):
                claims = super().get_authorization_code_claims(authorization_code)
                if provider.fault == "nonce":
                    claims["nonce"] = "a-nonce-this-browser-never-sent"
                return claims

            def exists_nonce(self, nonce, request):
                return any(code.nonce == nonce for code in provider.codes.values())

            def generate_user_info(self, user, scope):
                info = UserInfo(sub=user.orcid_id, given_name=user.given_name, family_name=user.family_name)
                if user.email:
                    info["email"] = user.email
                return info

            def process_token(self, grant, response):
                token = super().process_token(grant, response)
                if provider.fault == "tampered" and "id_token" in token:
                    header, payload, signature = token["id_token"].split(".")
                    claims = json.loads(_unb64(payload))
                    claims["sub"] = "0000-0002-1694-233X"  # someone else's iD, under the old signature
                    token["id_token"] = ".".join([header, _b64(json.dumps(claims).encode()), signature])
                return token

        server = AuthorizationServer(app, query_client=lambda client_id: (
            provider.client if client_id == provider.client.client_id else None), save_token=lambda token, request: None)
        server.register_grant(CodeGrant, [OrcidOpenID(require_nonce=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify({
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/oauth/authorize",
                "token_endpoint": f"{provider.issuer}/oauth/token",
                "jwks_uri": f"{provider.issuer}/oauth/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "claims_supported": ["sub", "given_name", "family_name", "iss", "aud", "exp", "iat", "nonce"],
            })

        @app.get("/oauth/jwks")
        def jwks():
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.get("/oauth/authorize")
        def authorize():
            # What a consent page would post back, answered at once: yes, or no for "denied".
            grant = server.get_consent_grant(end_user=provider.person)
            return server.create_authorization_response(
                grant=grant, grant_user=None if provider.fault == "denied" else provider.person)

        @app.post("/oauth/token")
        def token():
            provider.token_requests += 1
            return server.create_token_response()

        return app


@pytest.fixture(scope="module")
def oidc_provider():
    """A provider for a test module (import this fixture by name); its faults and person
    are reset by `oidc_app_config`."""
    provider = Provider().start()
    yield provider
    provider.stop()


def oidc_app_config(provider: Provider) -> dict:
    """The settings of a site that signs in with `provider`, which is reset for the test."""
    provider.reset()
    return {"ORCID_CLIENT_ID": CLIENT_ID, "ORCID_CLIENT_SECRET": CLIENT_SECRET, "ORCID_ISSUER": provider.issuer}
