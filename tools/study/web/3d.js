/* 3d.js — the 3D rating page: a three.js (r111, global THREE) scene of the unit affect ball
   with its valence (x), arousal (y) and z axes and the shown face's point [v, a, z] as a small
   sphere; dragging on #ball rotates it. Then runs Study's rating loop. */
'use strict';

(() => {
  const canvas = Study.$('ball');
  const fmt = (x) => (x < 0 ? '−' : '+') + Math.abs(x).toFixed(2);
  let renderer = null;

  try {
    renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  } catch (e) {
    canvas.dataset.webgl = 'off';
    const note = document.createElement('div');
    note.className = 'no-webgl';
    note.textContent = '3D view unavailable: this browser has WebGL turned off.';
    canvas.replaceWith(note);
  }

  const scene = new THREE.Scene();
  const camera = new THREE.PerspectiveCamera(32, 1, 0.1, 100);
  camera.position.set(0, 0, 6.5);
  const ball = new THREE.Group();
  ball.rotation.set(0.35, -0.6, 0);
  scene.add(ball);
  scene.add(new THREE.AmbientLight(0xffffff, 0.65));
  const sun = new THREE.DirectionalLight(0xffffff, 0.6);
  sun.position.set(2, 3, 4);
  scene.add(sun);

  // a polyline from points [[x, y, z], …]
  function line(points, color, opacity) {
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.Float32BufferAttribute([].concat(...points), 3));
    const mat = new THREE.LineBasicMaterial({ color, transparent: opacity < 1, opacity });
    return new THREE.Line(geo, mat);
  }
  // a circle of radius r; `at(c, s)` maps the circle's cosine/sine to [x, y, z]
  function circle(at, color, opacity) {
    const pts = [];
    for (let i = 0; i <= 96; i++) {
      const t = (i / 96) * 2 * Math.PI;
      pts.push(at(Math.cos(t), Math.sin(t)));
    }
    return line(pts, color, opacity);
  }
  function label(text, color, pos) {
    const c = document.createElement('canvas');
    c.width = 256; c.height = 64;
    const g = c.getContext('2d');
    g.font = '600 44px system-ui, sans-serif';
    g.textAlign = 'center'; g.textBaseline = 'middle';
    g.fillStyle = color;
    g.fillText(text, 128, 32);
    const mat = new THREE.SpriteMaterial({ map: new THREE.CanvasTexture(c), depthTest: false, transparent: true });
    const sprite = new THREE.Sprite(mat);
    sprite.scale.set(0.64, 0.16, 1);
    sprite.position.set(...pos);
    return sprite;
  }

  // translucent shell, latitude/longitude lines and the 2D circumplex (z = 0) ring
  ball.add(new THREE.Mesh(new THREE.SphereBufferGeometry(1, 48, 32),
    new THREE.MeshLambertMaterial({ color: 0xa5b4fc, transparent: true, opacity: 0.16, depthWrite: false })));
  for (let k = 0; k < 6; k++) {
    const phi = (k / 6) * Math.PI;
    ball.add(circle((c, s) => [c * Math.cos(phi), s, c * Math.sin(phi)], 0x94a3b8, 0.45));
  }
  for (const lat of [-60, -30, 0, 30, 60]) {
    const y = Math.sin((lat * Math.PI) / 180), r = Math.cos((lat * Math.PI) / 180);
    ball.add(circle((c, s) => [r * c, y, r * s], 0x94a3b8, 0.45));
  }
  ball.add(circle((c, s) => [c, s, 0], 0x334155, 0.9));

  // axes with arrow heads and labels
  const axes = [
    { dir: [1, 0, 0], color: 0x2563eb, css: '#2563eb', name: 'valence' },
    { dir: [0, 1, 0], color: 0x059669, css: '#059669', name: 'arousal' },
    { dir: [0, 0, 1], color: 0x7c3aed, css: '#7c3aed', name: 'z' },
  ];
  for (const ax of axes) {
    const d = new THREE.Vector3(...ax.dir);
    ball.add(line([d.clone().multiplyScalar(-1.2).toArray(), d.clone().multiplyScalar(1.2).toArray()], ax.color, 1));
    const cone = new THREE.Mesh(new THREE.ConeBufferGeometry(0.035, 0.12, 16),
      new THREE.MeshBasicMaterial({ color: ax.color }));
    cone.position.copy(d.clone().multiplyScalar(1.23));
    cone.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), d);
    ball.add(cone);
    ball.add(label(ax.name, ax.css, d.clone().multiplyScalar(1.55).toArray()));
  }

  // the face's point, with a guide from the centre to its foot on the circumplex plane (z = 0)
  // and up (along z) to the point
  const dot = new THREE.Mesh(new THREE.SphereBufferGeometry(0.06, 24, 16),
    new THREE.MeshLambertMaterial({ color: 0xdc2626, emissive: 0x450a0a }));
  const guide = line([[0, 0, 0], [0, 0, 0], [0, 0, 0]], 0xdc2626, 0.6);
  dot.visible = guide.visible = false;
  ball.add(dot, guide);

  let renders = 0;
  function render() {
    if (!renderer) return;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    renderer.setPixelRatio(window.devicePixelRatio || 1);
    renderer.setSize(w, h, false);
    renderer.setClearColor(0xffffff, 1);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    renderer.render(scene, camera);
    canvas.dataset.renders = String(++renders);
  }

  function showPoint(p) {
    const [v, a, z] = [p[0], p[1], p[2] || 0];
    dot.position.set(v, a, z);
    const pos = guide.geometry.attributes.position;
    pos.setXYZ(1, v, a, 0);
    pos.setXYZ(2, v, a, z);
    pos.needsUpdate = true;
    guide.geometry.computeBoundingSphere();
    dot.visible = guide.visible = true;
    render();
    Study.$('coords').textContent = `valence ${fmt(v)} · arousal ${fmt(a)} · z ${fmt(z)}`;
  }

  // drag to rotate: horizontal turns around y, vertical tilts around x; double-click resets
  if (renderer) {
    let drag = null;
    canvas.addEventListener('pointerdown', (ev) => {
      drag = { x: ev.clientX, y: ev.clientY };
      canvas.setPointerCapture(ev.pointerId);
      canvas.classList.add('dragging');
    });
    canvas.addEventListener('pointermove', (ev) => {
      if (!drag) return;
      ball.rotation.y += (ev.clientX - drag.x) * 0.01;
      ball.rotation.x = Math.max(-1.5, Math.min(1.5, ball.rotation.x + (ev.clientY - drag.y) * 0.01));
      drag = { x: ev.clientX, y: ev.clientY };
      render();
    });
    const end = () => { drag = null; canvas.classList.remove('dragging'); };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('dblclick', () => { ball.rotation.set(0.35, -0.6, 0); render(); });
    window.addEventListener('resize', render);
  }

  render();
  Study.ratingPage('3d', showPoint);
})();
