"""The baseline: a bare aiohttp handler that reads one document by _id from MongoDB.

`python bench/auth/baseline.py PORT MONGODB_URL DATABASE COLLECTION DOC_ID`: no framework, no
JWT, no decryption; what the access-token call is compared against.
"""

from __future__ import annotations

import sys

from aiohttp import web
from pymongo import AsyncMongoClient

from platform_core.mongo import Document


def main() -> None:
    port, url, database, collection, doc_id = sys.argv[1:6]
    client: AsyncMongoClient[Document] = AsyncMongoClient(url, tz_aware=True)
    documents = client[database][collection]

    async def read(request: web.Request) -> web.Response:
        doc = await documents.find_one({"_id": doc_id}, {"refresh_token": 0})
        return web.json_response({"found": doc is not None, "version": doc and doc.get("version")})

    app = web.Application()
    app.router.add_post("/read", read)
    app.router.add_get("/healthz", lambda _: _ok())
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None)


async def _ok() -> web.Response:
    return web.Response(text="ok")


if __name__ == "__main__":
    main()
