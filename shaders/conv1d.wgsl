// conv1d.wgsl — 1-D convolution has no kernel of its own.
//
// src/gpu/ops/conv.rs runs conv1d, conv1d_backward_input and
// conv1d_backward_weight through the entry points of conv2d.wgsl, viewing
// x [n, ci, l] as [n, ci, 1, l] and the weight [co, ci, k] as [co, ci, 1, k]
// (stride (1, s), padding (0, p)); the views share the buffers, so nothing is
// copied. This file holds no entry points and no bindings; it stays so that
// Shader::Conv1d names a valid module.
