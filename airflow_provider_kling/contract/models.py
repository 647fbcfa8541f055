"""What each Kling model can do, as data: the endpoints it serves and the fields it takes (Kling's capability map).

The model lists the rest of the contract checks against are drawn from :data:`MODELS`; a model the table does not
know is refused unless the connection's ``extra_models`` names it (then the service, not the provider, judges it).
Where the backends differ (CometAPI offers fewer models on some endpoints), :class:`Model` says on which.
"""

from __future__ import annotations

from typing import NamedTuple


class Model(NamedTuple):
    """
    One Kling model's capabilities.

    :param name: its ``model_name``.
    :param endpoints: the endpoints it serves (``text2video``, ``image2video``...).
    :param sound: whether it generates audio (takes ``sound="on"``).
    :param sound_needs_pro: whether its audio needs ``mode="pro"`` (its ``std`` videos are silent).
    :param cfg_scale: whether it takes ``cfg_scale``.
    :param multi_shot: whether it renders several shots in one task (``multi_shot``).
    :param omni_durations: the durations it renders on Omni video (whole seconds; none: it is no Omni model).
    :param backends: the backends that document it (elsewhere it needs the connection's ``extra_models``).
    """

    name: str
    endpoints: tuple[str, ...]
    sound: bool = False
    sound_needs_pro: bool = False
    cfg_scale: bool = True
    multi_shot: bool = False
    omni_durations: tuple[str, ...] = ()
    backends: tuple[str, ...] = ("cometapi", "kling")


#: Kling's capability map (its API reference, 2025-12, and its 3.0 specification); the sources are in the docs'
#: "What we know about the service". Video extension takes no model: it continues the video's own.
MODELS = {
    model.name: model
    for model in (
        Model("kling-v1", ("text2video", "image2video", "effects")),
        Model("kling-v1-5", ("image2video", "effects")),
        Model("kling-v1-6", ("text2video", "image2video", "multi-image2video", "multi-elements", "effects")),
        Model("kling-v2-master", ("text2video", "image2video"), cfg_scale=False),
        Model("kling-v2-1", ("image2video",), cfg_scale=False),
        Model("kling-v2-1-master", ("text2video", "image2video"), cfg_scale=False),
        Model("kling-v2-5-turbo", ("text2video", "image2video"), cfg_scale=False),
        Model("kling-v2-6", ("text2video",), sound=True, sound_needs_pro=True, cfg_scale=False),
        Model("kling-v3", ("text2video",), sound=True, multi_shot=True),
        Model("kling-video-o1", ("omni-video",), omni_durations=tuple(str(s) for s in range(3, 11))),
        Model(
            "kling-v3-omni",
            ("omni-video",),
            sound=True,
            multi_shot=True,
            omni_durations=tuple(str(s) for s in range(3, 16)),
            backends=("kling",),
        ),
    )
}


def models_for(endpoint: str, backend: str | None = None) -> tuple[str, ...]:
    """
    Return the models that serve ``endpoint``, in the table's order.

    :param endpoint: an endpoint's name.
    :param backend: only the models this backend documents (None: every backend's).
    """
    return tuple(
        model.name
        for model in MODELS.values()
        if endpoint in model.endpoints and (backend is None or backend in model.backends)
    )


def models_with(capability: str, value: bool = True) -> tuple[str, ...]:
    """
    Return the models whose ``capability`` (a :class:`Model` flag such as ``sound``) is ``value``, in the table's order.

    :param capability: the flag's name.
    :param value: the value looked for.
    """
    return tuple(model.name for model in MODELS.values() if getattr(model, capability) is value)
