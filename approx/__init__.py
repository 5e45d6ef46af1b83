"""approx: PolyCom activations, the network representation and the constructions.

>>> from approx import Net, Layer, act
>>> Net([Layer([[2]], [1], act.identity())]).eval_exact([(3,)])
[(Fraction(7, 1),)]
"""
from approx import act
from approx.net import Layer, Net

__all__ = ["Net", "Layer", "act"]
