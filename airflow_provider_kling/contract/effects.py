"""Video effects' rules (``/v1/videos/effects``): a scene from Kling's template list applied to one image or two."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import (
    DURATIONS,
    MODES,
    check_choice,
    check_delivery_fields,
    check_duration,
    check_image,
    check_model,
    shown,
)
from airflow_provider_kling.contract.models import models_for
from airflow_provider_kling.exceptions import KlingValidationError

#: The scenes that put two people together (``images``: left, then right); every other scene animates one ``image``.
TWO_PERSON_SCENES = ("hug", "kiss", "heart_gesture", "fight")

#: The models the two-person scenes take (``fight``: kling-v1-6 only).
EFFECT_MODELS = models_for("effects")

#: A scene's name: Kling adds seasonal ones often, so any name of this shape goes, and the service judges it.
SCENE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")

#: The only duration of the one-image scenes.
ONE_IMAGE_DURATIONS = ("5",)


def build_effects(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a video-effects request's fields; return its body, flat (the scene's inputs go under ``input`` when sent).

    :param given: the fields given (none None).
    :param backend: the service the request goes to (the same rules on both).
    :param extra_models: model names to accept beyond the known ones.
    """
    scene = given.get("effect_scene")
    if not isinstance(scene, str) or not SCENE_PATTERN.fullmatch(scene):
        raise KlingValidationError(
            "effect_scene",
            f"got {shown(scene)}; allowed: a scene name from Kling's effects list, such as "
            f"{', '.join(TWO_PERSON_SCENES)} (two people) or bloombloom, squish, expansion (one image)",
        )
    body: dict[str, Any] = {"effect_scene": scene}
    if scene in TWO_PERSON_SCENES:
        images = given.get("images")
        if not isinstance(images, (list, tuple)) or len(images) != 2:
            raise KlingValidationError(
                "images", f"got {shown(images)}; allowed for {scene!r}: two images, the left person then the right"
            )
        if "image" in given:
            raise KlingValidationError("image", f"is for one-image scenes; {scene!r} takes images (two)")
        body["images"] = [check_image(f"images[{index}]", image) for index, image in enumerate(images)]
        if "mode" in given:
            body["mode"] = check_choice("mode", given["mode"], MODES)
        durations: tuple[str, ...] = DURATIONS
    else:
        if "image" not in given:
            raise KlingValidationError("image", f"is required for {scene!r}: the picture the effect animates")
        for name in ("images", "mode"):
            if name in given:
                raise KlingValidationError(
                    name, f"is only for the two-person scenes ({', '.join(TWO_PERSON_SCENES)}); leave it unset"
                )
        body["image"] = check_image("image", given["image"])
        durations = ONE_IMAGE_DURATIONS
    # Only kling-v1-6 takes fight and (per ComfyUI's schema) the one-image scenes; the others default to kling-v1.
    only_v1_6 = scene == "fight" or scene not in TWO_PERSON_SCENES
    model = check_model(given, ("kling-v1-6",) if only_v1_6 else EFFECT_MODELS, extra_models)
    if model is None and scene == "fight":
        model = "kling-v1-6"  # the service's default, kling-v1, cannot render it
    if model is not None:
        body["model_name"] = model
    # Always sent: Kling's reference requires it, and a one-image scene takes only 5 s.
    body["duration"] = check_duration("duration", given.get("duration", "5"), durations)
    return {**body, **check_delivery_fields(given)}
