"""Local stand-ins for Zenodo, the X API and an image host (their documented answers), and what they serve."""
from __future__ import annotations

import hashlib
import io
import time

import numpy as np
import pytest
from support.servers import Reply

from twigma.synthetic.release import generate_release


@pytest.fixture
def release_bytes():
    buf = io.BytesIO()
    generate_release(500, seed=11).to_csv(buf, index=False)
    return buf.getvalue()


def zenodo_record(server, body: bytes, checksum: str | None = None, rdm: bool = False):
    md5 = checksum or "md5:" + hashlib.md5(body).hexdigest()
    entry = {"key": "TWIGMA_release.csv", "size": len(body), "checksum": md5,
             "links": {("content" if rdm else "self"): f"{server.url}/api/records/11_v4/files/TWIGMA_release.csv/content"}}
    readme = {"key": "README.md", "size": 10, "checksum": "md5:0", "links": {"self": f"{server.url}/x"}}
    files = {"entries": {"a": readme, "b": entry}} if rdm else [readme, entry]
    server.route("/api/records/8031785", Reply.json({"id": 8031785, "files": [readme],
                                                     "links": {"latest": f"{server.url}/api/records/8031785/versions/latest"}}))
    # Zenodo (InvenioRDM) answers versions/latest with a redirect to the newest record:
    # inveniosoftware/invenio-drafts-resources, invenio_drafts_resources/resources/records/resource.py,
    # RecordResource.read_latest ("Redirect to latest record": raise RedirectException(item["links"]["self"]))
    server.route("/api/records/8031785/versions/latest",
                 Reply(302, b"", {"Location": f"{server.url}/api/records/11"}))
    server.route("/api/records/11", Reply.json({"id": 11, "metadata": {"version": "v4"}, "files": files}))
    server.route("/api/records/11_v4/files/TWIGMA_release.csv/content", Reply(200, body))


TOKEN = "test-token-SECRET-1234567890"


class FakeX:
    """Tweets 1..N exist except multiples of 7 (deleted) and of 11 (withheld); each has one photo."""

    # The 429 bodies are X's problem-details objects. A rate limit:
    # {"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}
    # (the body X returns, as quoted in many client logs); the monthly usage cap, as reported in
    # xdevplatform/xdk#25 (2026-02-07), with rate-limit headers that show requests to spare.
    RATE_LIMITED = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
    USAGE_CAPPED = {"account_id": "1234", "product_name": "standard-basic", "title": "UsageCapExceeded",
                    "period": "Monthly", "scope": "Product", "detail": "Usage cap exceeded: Monthly product cap",
                    "type": "https://api.twitter.com/2/problems/usage-capped"}

    def __init__(self, server, rate_limit_on_call=None, usage_cap_from_call=None,
                 photo_base="https://pbs.twimg.com/media"):
        self.calls, self.asked, self.rate_limit_on_call = 0, [], rate_limit_on_call
        self.usage_cap_from_call = usage_cap_from_call
        self.photo_base = photo_base
        server.route("/2/tweets", self)

    @staticmethod
    def file_code(tweet_id: str) -> str:
        """A photo's file code as X writes them (15 base64url characters), one per tweet."""
        n = int(tweet_id) % 1000
        return f"{'-_'[n % 2]}Fr{n:04d}aWcAE1a{'bB'[n % 2]}"[:15]

    @staticmethod
    def media_id(tweet_id: str) -> str:
        return str(int(tweet_id) + 5)

    def __call__(self, req):
        self.calls += 1
        if req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply.json({"title": "Unauthorized", "status": 401}, status=401)
        if self.usage_cap_from_call and self.calls >= self.usage_cap_from_call:
            return Reply.json(self.USAGE_CAPPED, 429, {"x-rate-limit-limit": "40000", "x-rate-limit-remaining": "39999",
                                                       "x-rate-limit-reset": str(int(time.time()) + 900)})
        if self.rate_limit_on_call == self.calls:
            return Reply.json(self.RATE_LIMITED, 429, {"x-rate-limit-reset": str(int(time.time()) + 1)})
        ids = req.query["ids"].split(",")
        assert len(ids) <= 100
        assert "attachments.media_keys" in req.query["expansions"]
        self.asked += ids
        data, media, errors = [], [], []
        for i in ids:
            n = int(i) % 1000
            if n % 7 == 0:
                errors.append({"value": i, "detail": f"Could not find tweet with ids: [{i}].", "title": "Not Found Error",
                               "resource_type": "tweet", "parameter": "ids", "resource_id": i,
                               "type": "https://api.twitter.com/2/problems/resource-not-found"})
            elif n % 11 == 0:
                errors.append({"value": i, "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{i}].",
                               "title": "Authorization Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": i, "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"})
            else:
                key = f"3_{self.media_id(i)}"
                data.append({"id": i, "text": f"new AI art prompt {n}", "created_at": "2022-11-03T14:22:10.000Z",
                             "public_metrics": {"like_count": n, "quote_count": 0, "reply_count": 1, "retweet_count": 2},
                             "possibly_sensitive": False, "attachments": {"media_keys": [key]}})
                media.append({"media_key": key, "type": "photo", "url": f"{self.photo_base}/{self.file_code(i)}.jpg"})
        return Reply.json({"data": data, "includes": {"media": media}, "errors": errors})


IDS = [str(1600000000000000000 + i) for i in range(1, 251)]


def jpeg_bytes(size=(64, 48)) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((*size[::-1], 3)) * 255).astype("uint8")).save(buf, "JPEG")
    return buf.getvalue()


def release_of(ids, image_names):
    """A release table (one image per tweet) with the given tweet ids and image names."""
    raw = generate_release(len(ids), seed=5)
    raw["id"], raw["image_name"] = list(ids), list(image_names)
    return raw


def serve_photos(server, fake, ids, missing=()):
    """The image host: every photo of ``ids`` at the URL the fake X API gives, but those of ``missing`` (404)."""
    good = jpeg_bytes()
    for i in ids:
        if i not in missing:
            server.route(f"/media/{fake.file_code(i)}.jpg", Reply(200, good, {"Content-Type": "image/jpeg"}))
