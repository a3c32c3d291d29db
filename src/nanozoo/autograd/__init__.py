"""micrograd: a scalar autograd engine (`Value`) and a tiny neural-network library on top of it.

>>> from nanozoo.autograd import Value
>>> x = Value(2.0)
>>> y = (x * x + 1).tanh()
>>> y.backward()
>>> round(x.grad, 6)  # 2x (1 - tanh(x^2 + 1)^2)
0.000726
"""

from nanozoo.autograd.engine import Value, gc_paused
from nanozoo.autograd.nn import MLP, SGD, Layer, Module, Neuron

__all__ = ["MLP", "SGD", "Layer", "Module", "Neuron", "Value", "gc_paused"]
