// bench/peer.js: the peer of bench/run-peer, the stack a team would build
// instead of dunningd: a Node.js worker on BullMQ that renders the same
// shipped templates with mustache.js and writes the same outbox files.
//
// Usage: node bench/peer.js MODULES load SOCKET QUEUE JOBS.jsonl
//          adds every job (the JSON of DESIGN.md) to the BullMQ queue
//          QUEUE in the Redis at the unix SOCKET, 1,000 per addBulk
//        node bench/peer.js MODULES work SOCKET QUEUE OUTBOX TEMPLATES CONCURRENCY
//          works the queue until it is empty, then prints one line:
//          "peer: N jobs, last done at MS, peak RSS KIB KiB"
// MODULES holds node_modules/bullmq and node_modules/mustache.
//
// What one job costs here, as in dunningd: the job's JSON parsed (BullMQ),
// its reminder id (SHA-256 of step and invoice numbers, as daemon/job.c),
// amounts and dates formatted for its locale (Intl, ICU), the e-mail's
// subject, text and HTML parts or the SMS text rendered from
// templates/default with mustache.js (HTML escaping on), the message
// composed (e-mail: multipart/alternative, base64 parts; SMS: the JSON of
// the outbox layout) and written to OUTBOX/email/<id>.eml or
// OUTBOX/sms/<id>.json, created exclusively (flag wx, like dunningd's
// exactly-once link). mustache.js has no template inheritance ({{<layout}}
// with {{$blocks}}): each template is flattened once at start-up, so the
// per-job work is the same render. The peer does less than dunningd: no
// idempotency marker, no events stream, no history, no policy.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [modules, mode, socket, queueName, ...rest] = process.argv.slice(2);
const { Queue, Worker } = require(path.join(modules, 'node_modules', 'bullmq'));
const Mustache = require(path.join(modules, 'node_modules', 'mustache'));
const connection = { path: socket, maxRetriesPerRequest: null };

async function load(file) {
        const queue = new Queue(queueName, { connection });
        const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
        for (let i = 0; i < lines.length; i += 1000) {
                await queue.addBulk(lines.slice(i, i + 1000).map((l) => ({
                        name: 'reminder', data: JSON.parse(l),
                        opts: { removeOnComplete: true, removeOnFail: 1000 },
                })));
        }
        await queue.close();
}

// {{<parent}}{{$block}}...{{/block}}{{/parent}} -> one flat template.
function flatten(root, dir, rel) {
        const text = fs.readFileSync(path.join(root, dir, rel + '.mustache'), 'utf8');
        const parent = /^\{\{<\s*([\w/.-]+)\s*\}\}\n?/.exec(text);
        if (!parent)
                return text;
        const over = {};
        for (const m of text.matchAll(/\{\{\$(\w+)\}\}\n?([\s\S]*?)\{\{\/\1\}\}\n?/g))
                over[m[1]] = m[2];
        const fill = (t) => t.replace(/\{\{\$(\w+)\}\}\n?([\s\S]*?)\{\{\/\1\}\}\n?/g,
                (m, name, def) => (name in over ? over[name] : fill(def)));
        return fill(fs.readFileSync(path.join(root, dir, parent[1] + '.mustache'), 'utf8'));
}

const creditor = { name: 'Acme Energie B.V.', iban: 'NL91ABNA0417164300',
                   address: ['Postbus 123', '3500 AA Utrecht'] };
const money = {}, dates = {};
function fmtMoney(locale, currency, cents) {
        const k = locale + currency;
        money[k] ??= new Intl.NumberFormat(locale, { style: 'currency', currency });
        return money[k].format(cents / 100);
}
function fmtDate(locale, ymd) {
        dates[locale] ??= new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long',
                                                            year: 'numeric', timeZone: 'UTC' });
        return dates[locale].format(new Date(ymd + 'T00:00:00Z'));
}
function reminderId(step, numbers) {
        const h = crypto.createHash('sha256');
        h.update(step + '\0' + [...numbers].sort().join('\0'));
        return 'r-' + h.digest('hex').slice(0, 16);
}
function b64lines(s) {
        return Buffer.from(s, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
}
const word = (s) => (/^[\x20-\x7e]*$/.test(s) ? s
        : '=?UTF-8?B?' + Buffer.from(s, 'utf8').toString('base64') + '?=');
const gsm = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà]*$/;

async function work(outbox, templates, concurrency) {
        const cache = {};
        const tpl = (locale, step, part) => {
                const k = locale + '/' + step + '/' + part;
                if (!(k in cache)) {
                        const dir = fs.existsSync(path.join(templates, locale)) ? locale
                                : locale.split('-')[0];
                        cache[k] = flatten(templates, dir, step + '/' + part);
                        Mustache.parse(cache[k]);
                }
                return cache[k];
        };
        for (const d of ['email', 'sms'])
                fs.mkdirSync(path.join(outbox, d), { recursive: true });
        let done = 0, last = 0;
        const processor = async (bj) => {
                const job = bj.data;
                const loc = job.customer.locale;
                const numbers = job.invoices.map((i) => i.number);
                const id = reminderId(job.step, numbers);
                const total = job.invoices.reduce((a, i) => a + i.amount_cents, 0);
                const view = {
                        customer: job.customer,
                        invoices: job.invoices.map((i) => ({
                                number: i.number, amount: fmtMoney(loc, i.currency, i.amount_cents),
                                due: fmtDate(loc, i.due), issued: fmtDate(loc, i.issued) })),
                        multiple: job.invoices.length > 1,
                        invoice_count: job.invoices.length,
                        total: fmtMoney(loc, job.invoices[0].currency, total),
                        pay: { reference: numbers.join(', '), iban: creditor.iban, name: creditor.name },
                        creditor, step: job.step, reminder_id: id,
                };
                const lang = loc.split('-')[0];
                let file, body;
                if (job.customer.preferred_channel === 'sms') {
                        const text = Mustache.render(tpl(lang, job.step, 'sms.txt'), view,
                                                     {}, { escape: (s) => s });
                        const g = gsm.test(text);
                        const per = g ? (text.length > 160 ? 153 : 160) : (text.length > 70 ? 67 : 70);
                        file = path.join(outbox, 'sms', id + '.json');
                        body = JSON.stringify({ to: job.customer.phone, from: 'Acme', body: text,
                                segments: Math.ceil(text.length / per), encoding: g ? 'gsm7' : 'ucs2' });
                } else {
                        const plain = { escape: (s) => s };
                        const subject = Mustache.render(tpl(lang, job.step, 'email.subject'), view, {}, plain);
                        const text = Mustache.render(tpl(lang, job.step, 'email.txt'), view, {}, plain);
                        const html = Mustache.render(tpl(lang, job.step, 'email.html'), view);
                        const b = '=_' + id;
                        file = path.join(outbox, 'email', id + '.eml');
                        body = `From: Acme <debiteuren@acme.example>\r\nTo: ${word(job.customer.name)} <${job.customer.email}>\r\n` +
                                `Subject: ${word(subject)}\r\nDate: ${new Date().toUTCString()}\r\n` +
                                `Message-ID: <${id}@acme.example>\r\nMIME-Version: 1.0\r\n` +
                                `Content-Type: multipart/alternative; boundary="${b}"\r\n\r\n` +
                                `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
                                b64lines(text) + `\r\n--${b}\r\nContent-Type: text/html; charset=utf-8\r\n` +
                                `Content-Transfer-Encoding: base64\r\n\r\n` + b64lines(html) + `\r\n--${b}--\r\n`;
                }
                await fs.promises.writeFile(file, body, { flag: 'wx' });
                done++;
                last = Date.now();
        };
        const worker = new Worker(queueName, processor, { connection, concurrency });
        const queue = new Queue(queueName, { connection });
        worker.on('failed', (j, e) => console.error(`peer: job failed: ${e.message}`));
        await new Promise((resolve) => {
                const t = setInterval(async () => {
                        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
                        if (c.waiting + c.active + c.delayed + c.prioritized === 0) {
                                clearInterval(t);
                                resolve();
                        }
                }, 100);
        });
        await worker.close();
        await queue.close();
        // maxRSS: the peak resident set of this process, in KiB on Linux.
        console.log(`peer: ${done} jobs, last done at ${last}, peak RSS ${process.resourceUsage().maxRSS} KiB`);
}

(mode === 'load' ? load(rest[0]) : work(rest[0], rest[1], Number(rest[2] || 50)))
        .catch((e) => { console.error(e); process.exit(1); });
