// The broadcast form: the SMS counter, and the fields of the chosen channel and purpose only.
// Counts as messaging/sms.py does: GSM-7 160/153, else UCS-2 70/67 (UTF-16 units), the text
// as Broadcast.sms_text_for sends it: trimmed (as the form saves it), with the opt-out line
// unless the text already tells how, and each contact's subscriptions link in place of
// {subscriptions_link}.
const GSM7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "^{}\\[~]|€\f";
const OPT_OUT_LINE = "\nReply STOP to opt out";

function segments(text) {
  const chars = Array.from(text);
  const gsm = chars.every((c) => GSM7.includes(c) || GSM7_EXTENSION.includes(c));
  const length = gsm ? chars.length + chars.filter((c) => GSM7_EXTENSION.includes(c)).length : text.length;
  const [single, part] = gsm ? [160, 153] : [70, 67];
  const count = length === 0 ? 0 : length <= single ? 1 : Math.ceil(length / part);
  return { encoding: gsm ? "GSM-7" : "UCS-2", length, count };
}

const body = document.querySelector("[data-sms-counter]");
const counter = document.querySelector(".sms-counter");
// A subscriptions link counts as long as a US number's (the form says how long).
const LINK = "{subscriptions_link}";
const linkLength = Number(body?.dataset.linkLength || LINK.length);
// broadcasts.models.tells_how_to_stop, with the patterns the form gives.
const tellsHowToStop = new RegExp(body?.dataset.tellsHowToStop || "$^", "i");
const negation = new RegExp(body?.dataset.negation || "$^", "i");
const sentenceEnd = new RegExp(body?.dataset.sentenceEnd || "$^");
function tellsHow(text) {
  return text.split(sentenceEnd).some((sentence) => {
    const told = tellsHowToStop.exec(sentence);
    return told !== null && !negation.test(sentence.slice(0, told.index));
  });
}
function updateCounter() {
  const saved = body.value.trim().replaceAll(LINK, "x".repeat(linkLength));
  const saysStop = tellsHow(saved);
  const s = segments(saysStop ? saved : saved + OPT_OUT_LINE);
  counter.textContent = `${s.length} characters${saysStop ? "" : " with the opt-out line"} ` +
    `(${s.encoding}): ${s.count} segment${s.count === 1 ? "" : "s"}`;
}
if (body && counter) {
  body.addEventListener("input", updateCounter);
  updateCounter();
}

function showChannelFields() {
  const channel = document.querySelector('input[name="channel"]:checked')?.value;
  for (const el of document.querySelectorAll(".sms-only")) el.hidden = channel === "calls";
  for (const el of document.querySelectorAll(".voice-only")) el.hidden = channel === "sms";
}
document.addEventListener("change", (event) => {
  if (event.target.name === "channel") showChannelFields();
});
showChannelFields();

// Urgency is for informational broadcasts, and its reason for an urgent one. A field the
// server refused stays in sight with its error.
function showPurposeFields() {
  const informational = document.querySelector('input[name="purpose"]:checked')?.value === "informational";
  const urgent = document.querySelector('input[name="urgent"]');
  const refused = (el) => el.querySelector(".errorlist") !== null;
  for (const el of document.querySelectorAll(".urgent")) {
    el.hidden = !informational && !refused(el);
    if (el.hidden && urgent) urgent.checked = false;
  }
  for (const el of document.querySelectorAll(".urgent-reason")) {
    el.hidden = !(informational && urgent?.checked) && !refused(el);
  }
  // Marketing reaches only contacts with consent on record, ticked or not: shown ticked, and
  // the box's own choice back for other purposes. (Not chosen, a purpose is marketing.)
  const consentOnly = document.querySelector('input[name="consent_only"][data-marketing-needs-consent]');
  if (consentOnly) {
    const always = !informational;
    if (always && !consentOnly.disabled) consentOnly.dataset.chosen = consentOnly.checked;
    if (!always && consentOnly.disabled) consentOnly.checked = consentOnly.dataset.chosen === "true";
    if (always) consentOnly.checked = true;
    consentOnly.disabled = always;
  }
}
document.addEventListener("change", (event) => {
  if (event.target.name === "purpose" || event.target.name === "urgent") showPurposeFields();
});
showPurposeFields();
// A disabled box is not sent: the box's own choice is, and kept for the purposes that use it.
document.querySelector("form.broadcast-form")?.addEventListener("submit", () => {
  const consentOnly = document.querySelector('input[name="consent_only"][data-marketing-needs-consent]');
  if (consentOnly?.disabled) {
    consentOnly.disabled = false;
    consentOnly.checked = consentOnly.dataset.chosen === "true";
  }
});

// The audience's count, as the Contacts table counts it, asked again as its filters change:
// the answer to the latest change only.
const audienceCount = document.querySelector(".audience-count[data-count-url]");
let countAsked = 0;
let countTimer;
function countAudience() {
  const asked = ++countAsked;
  const query = new URLSearchParams();
  const prefix = audienceCount.dataset.prefix;
  for (const [name, value] of new FormData(audienceCount.closest("form"))) {
    if (name.startsWith(prefix) && value) query.append(name.slice(prefix.length), value);
  }
  fetch(`${audienceCount.dataset.countUrl}?${query}`)
    .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
    .then((text) => {
      if (asked === countAsked) audienceCount.textContent = text;
    })
    .catch(() => {
      if (asked === countAsked) audienceCount.textContent = "not counted";
    });
}
if (audienceCount) {
  const filters = audienceCount.closest(".audience");
  filters.addEventListener("change", countAudience);
  filters.addEventListener("input", () => {
    clearTimeout(countTimer);
    countTimer = setTimeout(countAudience, 300);
  });
  if ("toCount" in audienceCount.dataset) countAudience();  // not counted with the page
}
