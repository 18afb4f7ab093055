"""Methods own an objective and sampling; the one trainer drives any of them."""

from artforge.methods.base import Method, Phase, create_method, method_class, register_method

__all__ = ["Method", "Phase", "create_method", "method_class", "register_method"]
