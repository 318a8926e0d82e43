// The cutout repair page: paint keep (green) / remove (red) strokes on the photo; the form sends them as
// JSON polylines in the photo's own pixels, {"keep": [{"radius": r, "points": [[x, y], ...]}], "remove": [...]}.
// No inline code (the Content-Security-Policy forbids it): everything is wired up here.
(() => {
  const canvas = document.getElementById("repair-canvas");
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  const photoWidth = Number(canvas.dataset.width);
  const photoHeight = Number(canvas.dataset.height);
  const maxRadius = Number(canvas.dataset.maxRadius);
  const maxPoints = Number(canvas.dataset.maxPoints);
  const maxStrokes = Number(canvas.dataset.maxStrokes);
  const size = document.getElementById("repair-size");
  const showCutout = document.getElementById("repair-show-cutout");
  const undo = document.getElementById("repair-undo");
  const clear = document.getElementById("repair-clear");
  const apply = document.getElementById("repair-apply");
  const field = document.getElementById("repair-strokes");
  const status = document.getElementById("repair-status");
  const form = document.getElementById("repair-form");
  const colours = { keep: "rgba(30, 200, 90, 0.55)", remove: "rgba(230, 40, 40, 0.55)" };

  const strokes = []; // {mode, radius, points: [[x, y], ...]} in photo pixels, oldest first
  let current = null;
  let photo = null;
  let overlay = null;

  function load(url) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = () => reject(new Error(url));
      image.src = url;
    });
  }

  function pointCount() {
    return strokes.reduce((sum, s) => sum + s.points.length, 0);
  }

  function mode() {
    return document.querySelector("input[name=repair-mode]:checked").value;
  }

  // Canvas pixels per photo pixel (the canvas holds the photo's preview, at most 1600 px).
  function scale() {
    return canvas.width / photoWidth;
  }

  function toPhoto(event) {
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * photoWidth;
    const y = ((event.clientY - rect.top) / rect.height) * photoHeight;
    return [Math.min(Math.max(x, 0), photoWidth), Math.min(Math.max(y, 0), photoHeight)];
  }

  function brushRadius() {
    // The slider is in screen pixels, so the brush looks the same size at any zoom.
    const rect = canvas.getBoundingClientRect();
    const radius = Number(size.value) * (photoWidth / rect.width);
    return Math.max(1, Math.min(maxRadius, Math.round(radius)));
  }

  function drawStroke(stroke) {
    const k = scale();
    ctx.strokeStyle = ctx.fillStyle = colours[stroke.mode];
    ctx.lineWidth = 2 * stroke.radius * k;
    ctx.lineCap = ctx.lineJoin = "round";
    const [first, ...rest] = stroke.points;
    ctx.beginPath();
    if (rest.length === 0) {
      ctx.arc(first[0] * k, first[1] * k, stroke.radius * k, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.moveTo(first[0] * k, first[1] * k);
    for (const [x, y] of rest) ctx.lineTo(x * k, y * k);
    ctx.stroke();
  }

  function redraw() {
    if (!photo) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(photo, 0, 0, canvas.width, canvas.height);
    if (overlay && showCutout.checked) ctx.drawImage(overlay, 0, 0, canvas.width, canvas.height);
    for (const stroke of strokes) drawStroke(stroke);
    if (current) drawStroke(current);
  }

  function update() {
    const keep = strokes.filter((s) => s.mode === "keep");
    const remove = strokes.filter((s) => s.mode === "remove");
    const plain = (s) => ({ radius: s.radius, points: s.points.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]) });
    field.value = JSON.stringify({ keep: keep.map(plain), remove: remove.map(plain) });
    apply.disabled = undo.disabled = clear.disabled = strokes.length === 0;
    status.textContent = strokes.length
      ? `Strokes: ${keep.length} keep, ${remove.length} remove.`
      : "Choose keep or remove, then paint on the photo.";
    redraw();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (!photo || event.button !== 0) return;
    if (pointCount() >= maxPoints || strokes.length >= maxStrokes) {
      status.textContent = "That is as many points as one repair takes: apply it, then paint more.";
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    current = { mode: mode(), radius: brushRadius(), points: [toPhoto(event)] };
    redraw();
  });

  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    const point = toPhoto(event);
    const last = current.points[current.points.length - 1];
    // A point every third of the brush radius is as smooth as the brush can show, and keeps requests small.
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) < Math.max(1, current.radius / 3)) return;
    if (pointCount() + current.points.length >= maxPoints) return;
    current.points.push(point);
    redraw();
  });

  function finish() {
    if (!current) return;
    strokes.push(current);
    current = null;
    update();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  undo.addEventListener("click", () => {
    strokes.pop();
    update();
  });
  clear.addEventListener("click", () => {
    strokes.length = 0;
    update();
  });
  showCutout.addEventListener("change", redraw);
  form.addEventListener("submit", () => {
    update();
    apply.disabled = true; // one repair per click
    status.textContent = "Repairing the cutout…";
  });

  Promise.all([load(canvas.dataset.photo), load(canvas.dataset.overlay).catch(() => null)]).then(
    ([loadedPhoto, loadedOverlay]) => {
      photo = loadedPhoto;
      overlay = loadedOverlay;
      canvas.width = photo.naturalWidth;
      canvas.height = photo.naturalHeight;
      canvas.dataset.ready = "true";
      update();
      if (!overlay) status.textContent = "The current cutout could not be shown; you can still paint strokes.";
    },
    () => {
      status.textContent = "The photo could not be loaded.";
    },
  );
})();
