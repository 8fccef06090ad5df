// The cabinet's screen and keypad, shown by the Pi's own browser (firmware-bridge/kiosk/kiosk.ts).
const screen = document.getElementById('screen');
const entry = document.getElementById('entry');
const MAX_DIGITS = 16;
const ENTRY_IDLE_MS = 30_000;
let digits = '';
let idle;
let audio;

function showEntry() {
  entry.textContent = '•'.repeat(digits.length);
  entry.dataset.digits = String(digits.length);
  clearTimeout(idle);
  if (digits)
    idle = setTimeout(() => {
      digits = '';
      showEntry();
    }, ENTRY_IDLE_MS);
}

// ok: one short high tone; error: three low ones. The browser lets a page sound only after a touch
// (or when started with --autoplay-policy=no-user-gesture-required, as the kiosk is).
function beep(pattern) {
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps) + 1);
  document.body.dataset.lastBeep = pattern;
  audio ??= new AudioContext();
  const tones =
    pattern === 'ok'
      ? [[880, 0, 0.15]]
      : [
          [220, 0, 0.15],
          [220, 0.25, 0.15],
          [220, 0.5, 0.15],
        ];
  for (const [hz, at, length] of tones) {
    const osc = audio.createOscillator();
    osc.frequency.value = hz;
    osc.connect(audio.destination);
    osc.start(audio.currentTime + at);
    osc.stop(audio.currentTime + at + length);
  }
}

async function submit() {
  if (digits.length < 4) return;
  const code = digits;
  digits = '';
  showEntry();
  const res = await fetch('/code', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-casier-kiosk': '1' },
    body: JSON.stringify({ code }),
  }).catch(() => undefined);
  if (!res?.ok) screen.textContent = document.body.dataset.outOfOrder;
}

document.querySelector('.keys').addEventListener('click', (e) => {
  const key = e.target.closest('button')?.dataset.key;
  if (!key) return;
  if (key === 'ok') void submit();
  else if (key === 'clear') digits = digits.slice(0, -1);
  else if (digits.length < MAX_DIGITS) digits += key;
  showEntry();
});

const events = new EventSource('/events');
events.onmessage = (m) => {
  const p = JSON.parse(m.data);
  if (p.type === 'display') screen.textContent = p.text;
  else if (p.type === 'beep') beep(p.pattern);
};
