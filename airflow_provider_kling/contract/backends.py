"""What differs between the services the provider talks to, as data: the rest of the code asks a :class:`Backend`."""

from __future__ import annotations

from typing import NamedTuple

from airflow_provider_kling._constants import DEFAULT_BACKEND_NAME


class Backend(NamedTuple):
    """
    What differs between the services the provider talks to, as data: the rest of the code asks this.

    :param name: the connection's ``backend`` extra that selects it.
    :param default_base_url: the base URL when the connection has no host.
    :param path_prefix: what comes before ``/v1/...`` in every API path.
    :param auth: ``bearer`` (the key as a Bearer token) or ``jwt`` (a short-lived HS256 token signed
        with the secret key, the access key as its issuer).
    :param lookup_by_external_task_id: whether ``GET <route>/<external_task_id>`` answers the task
        submitted with that id; where it does not, a submission whose answer was lost cannot be found.
    :param list_route: whether ``GET <route>?pageNum=&pageSize=`` lists the account's tasks.
    :param prompt_max_chars: the longest ``prompt`` the backend takes.
    :param negative_prompt_max_chars: the longest ``negative_prompt`` the backend takes.
    :param long_duration_models: the models that take any whole ``duration`` from 3 to 15 s here.
    :param documents_multi_shot: whether the backend's own reference documents ``multi_shot`` and
        its fields (a relay that does not may drop them, and render one shot).
    :param image2video_needs_image: whether an image-to-video request must carry ``image`` (a relay that
        routes a request without it to text-to-video would render a video that ignores ``image_tail``).
    :param extension_needs_parent_task: whether a task on a video Kling made (an extension, a lip-sync) must name
        its parent task (``task_id``), so that a relay sends it to the upstream account that made the video.
    :param session_takes_video_id: whether an editing session (multi-elements, two-step lip-sync) is opened for a
        video Kling made by its ``video_id`` (else only by ``video_url``).
    """

    name: str
    default_base_url: str
    path_prefix: str
    auth: str
    lookup_by_external_task_id: bool
    list_route: bool
    prompt_max_chars: int
    negative_prompt_max_chars: int
    long_duration_models: tuple[str, ...]
    documents_multi_shot: bool
    image2video_needs_image: bool = False
    extension_needs_parent_task: bool = False
    session_takes_video_id: bool = True

    def path(self, route: str) -> str:
        """The path of ``route`` (an :class:`Endpoint`'s, such as ``/v1/videos/text2video``) on this backend."""
        return f"{self.path_prefix}{route}"


#: CometAPI's gateway (a relay in front of Kling): lookups by ``task_id`` only, no list route; its page documents
#: prompts of 500 and negative prompts of 200 characters, and durations of 5 or 10 s for every model; an
#: extension names its parent task; a request without ``image`` is routed to text-to-video by the relay it runs.
COMETAPI = Backend(
    "cometapi",
    "https://api.cometapi.com",
    "/kling",
    "bearer",
    False,
    False,
    500,
    200,
    (),
    False,
    image2video_needs_image=True,
    extension_needs_parent_task=True,
    session_takes_video_id=False,
)

#: Kling's own API: JWT auth, lookups by ``task_id`` or ``external_task_id``, a list route, prompts of 2,500
#: characters, and 3 to 15 s for kling-v3.
KLING = Backend("kling", "https://api-singapore.klingai.com", "", "jwt", True, True, 2500, 2500, ("kling-v3",), True)

BACKENDS = {backend.name: backend for backend in (COMETAPI, KLING)}

DEFAULT_BACKEND = BACKENDS[DEFAULT_BACKEND_NAME]
