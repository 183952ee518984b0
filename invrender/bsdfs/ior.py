"""Indices of refraction given as numbers or by name, as Mitsuba's ``lookup_ior`` and
``material`` presets read them (host side, at load time)."""

import difflib

from invrender.bsdfs.ior_data import CONDUCTORS, DIELECTRICS


def _choice(props, element, name: str, text: str, table: dict, what: str) -> str:
    key = text if text in table else text.lower()
    if key not in table:
        close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.5)
        hint = ("did you mean " + ", ".join(close) + "?") if close else \
            f"known {what}s: " + ", ".join(sorted(table))
        raise props.error(element, f"unknown {what} '{text}' for '{name}'", hint=hint)
    return key


def lookup_ior(props, name: str, default: float | str) -> float:
    """A positive IOR from ``<float name=..>`` or ``<string name=..>`` (a material name of
    Mitsuba's table, e.g. "bk7", "water"), else ``default`` (a number or a name)."""
    element = props.named.get(name)
    if element is not None and element.tag == "string":
        value = DIELECTRICS[_choice(props, element, name, props.string(name), DIELECTRICS,
                                    "IOR name")]
    elif element is not None:
        value = props.float(name)
    else:
        value = DIELECTRICS[default] if isinstance(default, str) else float(default)
    if not value > 0.0:
        raise props.error(element if element is not None else props.owner,
                          f"'{name}' must be a positive index of refraction, got {value}",
                          hint="vacuum and air are about 1, glass 1.5")
    return value


def relative_ior(props) -> float:
    """Mitsuba's eta = int_ior / ext_ior (defaults: bk7 inside, air outside)."""
    return lookup_ior(props, "int_ior", "bk7") / lookup_ior(props, "ext_ior", "air")


def conductor_preset(props, name: str = "material") -> tuple | None:
    """(eta RGB, k RGB) of a ``material`` preset (Mitsuba's RGB values), or None for
    "none" or no preset (then eta and k are properties of their own)."""
    element = props.named.get(name)
    if element is None:
        return None
    text = props.string(name)
    if text == "none":
        return None
    return CONDUCTORS[_choice(props, element, name, text, CONDUCTORS, "conductor material")]
