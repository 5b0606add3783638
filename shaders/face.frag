// face.frag — the generated face, scaled smoothly: Catmull-Rom bicubic filtering built from
// nine bilinear taps (sharp like bicubic, no blocky texels), with anti-aliased rounded
// corners so the picture sits in its panel like the rest of the UI.
#version 450

layout(set = 0, binding = 0) uniform sampler2D face;

layout(push_constant) uniform Face {
  vec4 rect;    // x0, y0, x1, y1 in NDC
  vec4 pixels;  // width, height, corner radius (framebuffer pixels), unused
} pc;

layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 colour;

// Catmull-Rom through 9 bilinear fetches (the sampler clamps to the edge).
vec4 catmull_rom(vec2 p) {
  vec2 size = vec2(textureSize(face, 0));
  vec2 s = p * size;
  vec2 t1 = floor(s - 0.5) + 0.5;
  vec2 f = s - t1;
  vec2 w0 = f * (-0.5 + f * (1.0 - 0.5 * f));
  vec2 w1 = 1.0 + f * f * (-2.5 + 1.5 * f);
  vec2 w2 = f * (0.5 + f * (2.0 - 1.5 * f));
  vec2 w3 = f * f * (-0.5 + 0.5 * f);
  vec2 w12 = w1 + w2;
  vec2 t12 = (t1 + w2 / w12) / size;
  vec2 t0 = (t1 - 1.0) / size;
  vec2 t3 = (t1 + 2.0) / size;
  vec4 c = vec4(0.0);
  c += texture(face, vec2(t0.x, t0.y)) * w0.x * w0.y;
  c += texture(face, vec2(t12.x, t0.y)) * w12.x * w0.y;
  c += texture(face, vec2(t3.x, t0.y)) * w3.x * w0.y;
  c += texture(face, vec2(t0.x, t12.y)) * w0.x * w12.y;
  c += texture(face, vec2(t12.x, t12.y)) * w12.x * w12.y;
  c += texture(face, vec2(t3.x, t12.y)) * w3.x * w12.y;
  c += texture(face, vec2(t0.x, t3.y)) * w0.x * w3.y;
  c += texture(face, vec2(t12.x, t3.y)) * w12.x * w3.y;
  c += texture(face, vec2(t3.x, t3.y)) * w3.x * w3.y;
  return clamp(c, 0.0, 1.0);
}

void main() {
  vec3 rgb = catmull_rom(uv).rgb;
  // Rounded-rectangle coverage in pixels.
  vec2 half_size = 0.5 * pc.pixels.xy;
  float r = min(pc.pixels.z, min(half_size.x, half_size.y));
  vec2 q = abs(uv * pc.pixels.xy - half_size) - (half_size - r);
  float d = length(max(q, 0.0)) + min(max(q.x, q.y), 0.0) - r;
  float alpha = clamp(0.5 - d, 0.0, 1.0);
  colour = vec4(rgb, alpha);
}
