"""`GET /api/v1/search`: ranked hits across todos, notes, tracks, decisions and messages.

Parse, one domain call (`domain.search`, the same the chat's /search makes), format."""

from __future__ import annotations

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.api.openapi import problems
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.ports import UnitOfWorkFactory
from domain.search import MAX_LIMIT, MAX_QUERY_CHARS, SearchHit, search_in
from domain.search_index import SEARCH_KINDS
from domain.snippets import MARK_CLOSE, MARK_OPEN

router = APIRouter()


class SearchHitOut(BaseModel):
    kind: str = Field(description=" | ".join(SEARCH_KINDS))
    number: int = Field(description="the object's number; for a message, its event's seq")
    title: str = Field(description="for a message, the beginning of its first line")
    snippet: str = Field(
        description=f"the text around the match, each match marked {MARK_OPEN}like this{MARK_CLOSE}"
    )
    status: str | None = Field(description="the object's status; null for a message")

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitOut:
        return cls(
            kind=hit.kind,
            number=hit.number,
            title=hit.title,
            snippet=hit.snippet,
            status=hit.status,
        )


class SearchPageOut(BaseModel):
    items: list[SearchHitOut] = Field(description="best first")
    next: str | None = Field(description="`after` for the next page; null on the last")
    total: int = Field(description="hits in all")


@router.get("/search", response_model=SearchPageOut, responses=problems(422))
@inject
async def search(
    q: Annotated[
        str,
        Query(
            description=f"the words to find: at most 32, at most "
            f"{MAX_QUERY_CHARS} characters; case and accents "
            "do not matter"
        ),
    ],
    types: Annotated[
        str | None,
        Query(
            description="kinds to search, comma-separated: " + ",".join(SEARCH_KINDS),
            max_length=200,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    after: Annotated[
        str | None, Query(description="`next` of the page before", max_length=200)
    ] = None,
    uow_factory: UnitOfWorkFactory = Depends(AsyncProvide[Container.uow_factory]),
) -> SearchPageOut:
    """Every word must be found (a word of three letters or more also finds longer words
    it begins); todos, notes, tracks and decisions rank before messages, a title hit
    above a body hit; archived notes are not found, and a message that made an object is
    found as that object only."""
    kinds = None if types is None else types.split(",")
    page = await search_in(uow_factory, q, types=kinds, limit=limit, after=after)
    return SearchPageOut(
        items=[SearchHitOut.of(hit) for hit in page.hits], next=page.next, total=page.total
    )
