"""Kernels: attention written tile by tile, as a readable PyTorch reference and in Triton.

`flash_attention.py` holds the FlashAttention-2 algorithm in PyTorch and `attention(q, k, v, impl=...)`;
`flash_attention_triton.py` the same algorithm as Triton kernels, imported only when asked for (Triton is the
optional extra `kernels`).
"""
