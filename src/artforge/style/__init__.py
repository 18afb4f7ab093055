"""Style transfer: optimisation (Gatys et al.) and fast arbitrary (AdaIN, Huang & Belongie) methods.

Submodules are imported on demand (``from artforge.style.adain import load_adain``) so that importing
the package stays cheap and one method's dependencies never load with another's.
"""
