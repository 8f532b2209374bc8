"""The shared requester with In Vivo's OAuth2 client-credentials grant and API-version header."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from invivo_pipeline.core.auth import AccessToken
from invivo_pipeline.core.metrics import TOKEN, ClientMetrics
from invivo_pipeline.core.ratelimit import RateLimiter
from invivo_pipeline.core.requester import Requester
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.models import OAuthToken
from invivo_pipeline.sources.invivo.table import TOKEN_PATH

logger = logging.getLogger("invivo_pipeline.client")


class InVivoRequester(Requester):
    def __init__(
        self,
        config: ClientConfig,
        *,
        metrics: ClientMetrics,
        rate_limiter: RateLimiter,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            config,
            metrics=metrics,
            rate_limiter=rate_limiter,
            secrets=[config.client_secret],
            headers={"X-Studies-Api-Version": config.api_version},
            transport=transport,
        )
        self.invivo = config

    async def _fetch_token(self) -> AccessToken:
        body = {
            "grant_type": "client_credentials",
            "client_id": self.invivo.client_id,
            "client_secret": self.invivo.client_secret,
        }
        token, _ = await self._with_retries(
            "POST",
            self.invivo.base_url + TOKEN_PATH,
            None,
            resource=TOKEN,
            parse=self._parse_token,
            authenticated=False,
            json_body=body,
        )
        logger.debug("obtained an access token valid for %s s", token.expires_in)
        return token

    def _parse_token(self, body: Any) -> AccessToken:
        token = OAuthToken.model_validate(body)
        self.redact.add(token.access_token)
        return AccessToken(access_token=token.access_token, expires_in=token.expires_in)
