"""The send path: every call and every topic poll, from request to answer or `MomentoError`.

It owns building requests (`_requests`), sending them through the client's `AsyncClient`
(`_sender`, the one send path, with the one retry decision), the try's one deadline
(`_deadline`), reading an answer's body under its cap (`_body`), the one mapping from a
status to an exception (`_answers`), the one mapping from another library's failure to
this SDK's exception (`_exception_mapping`), and the `AsyncClient` the SDK makes for itself
(`_http_client`).

Who may import it: the client's modules (`_client`, `_operations`, `_cache_aside`) and
topics, through the names below only. It reaches the transport through the transport's
front.
"""

from momento_http._send._answers import Answer
from momento_http._send._call import Call
from momento_http._send._sender import Sender

__all__ = ["Answer", "Call", "Sender"]
