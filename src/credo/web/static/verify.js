// Partner console: fill the form from a share link's fragment, and scan a QR code with the camera
// where the browser offers BarcodeDetector. Nothing is sent anywhere but this site's own form.
(function () {
  const field = document.getElementById("shared");
  if (!field) return;
  function fromLink() {
    if (location.hash.length > 1) {
      field.value = location.href;
      history.replaceState(null, "", location.pathname);
    }
  }
  fromLink();
  window.addEventListener("hashchange", fromLink);
  const button = document.getElementById("scan");
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", async function () {
    const box = document.getElementById("scanner"), video = document.getElementById("camera");
    const status = document.getElementById("scan-status");
    box.hidden = false;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream; await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      status.textContent = "Point the camera at the customer's QR code.";
      const tick = async function () {
        const codes = await detector.detect(video);
        if (codes.length) {
          field.value = codes[0].rawValue;
          stream.getTracks().forEach(function (t) { t.stop(); });
          box.hidden = true;
          document.getElementById("verify-form").requestSubmit();
          return;
        }
        requestAnimationFrame(tick);
      };
      tick();
    } catch (err) {
      status.textContent = "The camera is not available here: paste the link instead.";
    }
  });
})();
