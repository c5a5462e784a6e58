"""The sandbox's participants: each an ASGI module composing building blocks with
that participant's settings, run by uvicorn in a process of its own."""
