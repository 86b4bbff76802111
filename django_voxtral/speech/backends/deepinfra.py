"""DeepInfra's native inference endpoint for Voxtral (and Whisper), exactly as the contract says.

Never send a field the contract does not name, and never read the token before it is needed.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar
from urllib.parse import quote

from ..results import TranscriptionResult
from .base import AudioPath
from .errors import ServiceError
from .http import Files, HTTPSpeechBackend
from .options import TranscriptionOptions

#: US dollars per audio minute, from the provider's price list (see the contract).
PRICES_PER_MINUTE: dict[str, float] = {
    "mistralai/Voxtral-Small-24B-2507": 0.003,
    "mistralai/Voxtral-Mini-3B-2507": 0.001,
}


class DeepInfraBackend(HTTPSpeechBackend):
    """``POST {base_url}/v1/inference/{model}`` with ``Authorization: bearer <token>``.

    Options: token (else DEEPINFRA_TOKEN), base_url, model, connect_timeout, read_timeout,
    max_retries, max_retry_seconds, backoff_base, backoff_max, retry_after_max,
    max_connections, price_per_minute; and, from code, transport, async_transport, sleep and
    async_sleep (what the client sends through and waits with).
    """

    name: ClassVar[str] = "deepinfra"
    service: ClassVar[str] = "DeepInfra"
    default_base_url: ClassVar[str] = "https://api.deepinfra.com"
    default_model: ClassVar[str] = "mistralai/Voxtral-Small-24B-2507"
    token_env: ClassVar[str | None] = "DEEPINFRA_TOKEN"

    def default_price(self) -> float | None:
        return PRICES_PER_MINUTE.get(self.model)

    @property
    def path(self) -> str:
        # The model name's slash is part of the path, as in the provider's own URLs.
        return f"/v1/inference/{quote(self.model, safe='/')}"

    def _request(
        self, audio: tuple[str, bytes, str], options: TranscriptionOptions
    ) -> tuple[dict[str, str], Files, dict[str, str], list[str]]:
        token = self.require_token()
        headers = {"Authorization": f"bearer {token}", "Accept": "application/json"}
        return options.to_form(), [("audio", audio)], headers, [token]

    def _result(self, data: dict[str, Any]) -> TranscriptionResult:
        result = TranscriptionResult.from_contract(data)
        status = result.inference_status.status
        if status != "succeeded":
            # "queued"/"running": the service (or a django-voxtral site that ran out of time)
            # will finish later; sending again would be billed again, so say so instead.
            raise ServiceError(
                f"{self.service} answered with status {status!r} instead of a result "
                f"(request_id {result.request_id or 'unknown'}); the request was accepted "
                "but not finished in time. Fetch it by its request_id, or retry later."
            )
        return result

    def transcribe(self, audio: AudioPath, options: TranscriptionOptions) -> TranscriptionResult:
        self.check_options(options)
        form, files, headers, secrets = self._request(self.read_audio(audio), options)
        response = self.http.post(
            self.path, data=form, files=files, headers=headers, secrets=secrets
        )
        return self.parse_result(response, secrets, self._result)

    async def atranscribe(
        self, audio: AudioPath, options: TranscriptionOptions
    ) -> TranscriptionResult:
        self.check_options(options)
        triple = await asyncio.to_thread(self.read_audio, audio)
        form, files, headers, secrets = self._request(triple, options)
        response = await self.http.apost(
            self.path, data=form, files=files, headers=headers, secrets=secrets
        )
        return self.parse_result(response, secrets, self._result)
