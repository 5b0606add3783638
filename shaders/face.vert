// face.vert — the face quad: four vertices (a triangle strip, no vertex buffer) covering
// the rectangle the UI reserved, given in normalised device coordinates.
#version 450

layout(push_constant) uniform Face {
  vec4 rect;    // x0, y0, x1, y1 in NDC
  vec4 pixels;  // width, height, corner radius (framebuffer pixels), unused
} pc;

layout(location = 0) out vec2 uv;

void main() {
  uv = vec2(gl_VertexIndex & 1, gl_VertexIndex >> 1);
  gl_Position = vec4(mix(pc.rect.xy, pc.rect.zw, uv), 0.0, 1.0);
}
