"""Operator that applies one of Kling's video effects to a picture, or to two people's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingVideoEffectsOperator(KlingVideoOperator):
    """
    Apply a video effect to an image or two (``/v1/videos/effects``), wait, and return the task object.

    The two-person scenes (``hug``, ``kiss``, ``heart_gesture``, ``fight``) take ``images``, the left person then
    the right; every other scene (Kling adds seasonal ones often, so any name goes) animates one ``image`` for
    5 seconds. Images given as paths are read and sent as Base64. Safe to retry, with every argument of
    :class:`KlingVideoOperator`.

    :param effect_scene: the effect's name in Kling's list, such as ``hug`` or ``bloombloom``. Templated.
    :param image: the picture a one-image scene animates. Templated.
    :param images: the two pictures of a two-person scene. Templated.
    :param model_name: ``kling-v1``, ``kling-v1-5`` or ``kling-v1-6`` for ``hug``, ``kiss`` and ``heart_gesture``
        (default: the service's, kling-v1); ``kling-v1-6`` only for ``fight`` (sent when unset) and the one-image
        scenes. Templated.
    :param mode: ``std`` or ``pro``, two-person scenes only. Templated.
    :param duration: 5 seconds (the default), or 10 for a two-person scene. Templated.
    """

    endpoint = "effects"
    template_fields: Sequence[str] = templated_fields("effects")

    def __init__(
        self,
        *,
        effect_scene: str,
        image: Any = None,
        images: list[Any] | None = None,
        model_name: str | None = None,
        mode: str | None = None,
        duration: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.effect_scene = effect_scene
        self.image = image
        self.images = images
        self.model_name = model_name
        self.mode = mode
        self.duration = duration
