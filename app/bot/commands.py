from aiogram.types import BotCommand

COMMANDS = [
    BotCommand(command="todo", description="add a todo: /todo buy milk tomorrow !high #home"),
    BotCommand(command="todos", description="list todos: /todos [open|done|all]"),
    BotCommand(command="done", description="complete todo number n: /done 3"),
    BotCommand(command="note", description="record a note"),
    BotCommand(command="notes", description="list or search notes: /notes [search]"),
    BotCommand(command="track", description="start tracking something"),
    BotCommand(command="tracks", description="list what you track"),
    BotCommand(command="decide", description="record a decision: /decide X because Y"),
    BotCommand(command="decisions", description="list active decisions"),
    BotCommand(command="stats", description="counts of everything"),
    BotCommand(command="help", description="what I understand"),
]
