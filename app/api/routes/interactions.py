"""The conversation over HTTP: the same service, and so the same replies, as the bot."""

from __future__ import annotations

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request

from app.api.edge import parse_body
from app.api.openapi import READS_BODY, json_body
from app.api.schemas_objects import DocumentOut, EventSummary, Interaction, InteractionOut
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.conversation import ConversationService

router = APIRouter()


@router.post(
    "/interactions",
    response_model=InteractionOut,
    responses=READS_BODY,
    openapi_extra=json_body(Interaction),
)
@inject
async def interact(
    request: Request,
    conversation: ConversationService = Depends(AsyncProvide[Container.conversation_service]),
) -> InteractionOut:
    body = await parse_body(request, Interaction)
    answer = await conversation.handle(
        body.text, channel=body.channel, chat_id=body.chat_id, external_id=body.external_id
    )
    events = [EventSummary(seq=event.seq, type=event.type) for event in answer.events]
    document = None
    if answer.document is not None:
        document = DocumentOut(
            filename=answer.document.filename,
            media_type=answer.document.media_type,
            content=answer.document.content.decode(),
        )
    return InteractionOut(
        reply=answer.reply, events=events, replayed=answer.replayed, document=document
    )
