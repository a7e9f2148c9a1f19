// bench/letter.js: Chromium's side of bench/run-letter.
//
// Usage: node bench/letter.js MODULES DATA TEMPLATE [N [PAGES]]
//        node bench/letter.js MODULES DATA TEMPLATE --once OUT.pdf
//          (the first letter's PDF, and its HTML in OUT.html)
// MODULES holds node_modules/puppeteer-core and node_modules/qrcode; DATA
// is what `bench-letter --data TEMPLATES N` prints: one JSON object per
// line with exactly what letter_render received for each of the C side's
// letters (names, addresses, dates, amounts, heading, the rendered text,
// the EPC QR payload); TEMPLATE is bench/letter.html, the same letter as
// HTML and CSS.
//
// One Chromium (Debian's /usr/bin/chromium, NOTES.md's flags) is
// launched once and kept running; PAGES tabs (default 2, one per core)
// each take the next letter, fill the template (HTML-escaped), load it
// with page.setContent and print it with page.pdf (A4, backgrounds, no
// margins, no header or footer), until N letters (default 1000) are done.
// The EPC QR code of every letter is made before the clock starts, as an
// SVG by npm's qrcode (level M, like channels/qr.c): the timed part is
// filling the template, loading and printing. Each tab prints one letter
// before the clock starts. Prints letters/s, PDF bytes, CPU per letter of
// Chromium's processes and of node, and Chromium's peak RSS: the largest
// sum of VmRSS over the browser's process tree, sampled every 100 ms
// (shared pages count once per process, as in `ps`), with the sum of the
// processes' VmHWM and their PSS at the end beside it.
//
// Environment: BENCH_LETTER_PRINT=cdp prints with DevTools'
// Page.printToPDF answering in base64 instead of page.pdf (a probe of
// puppeteer's stream reading); BENCH_LETTER_KEEP=DIR keeps every PDF there.
// Chromium 156 and puppeteer-core 24 here: 2 tabs are as fast as 4 or 8.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const [modules, dataFile, templateFile, arg3, arg4] = process.argv.slice(2);
const puppeteer = require(path.join(modules, 'node_modules', 'puppeteer-core'));
const QRCode = require(path.join(modules, 'node_modules', 'qrcode'));

const once = arg3 === '--once';
const n = once ? 1 : Number(arg3 || 1000);
const pages = once ? 1 : Number(arg4 || 2);
const template = fs.readFileSync(templateFile, 'utf8');
const letters = fs.readFileSync(dataFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse);
if (letters.length < n) {
        console.error(`letter.js: ${dataFile} has ${letters.length} letters, ${n} asked for`);
        process.exit(1);
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) =>
        ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function fill(l, qr) {
        const back = [l.creditor_name, ...l.creditor_address].join(' · ');
        const v = {
                ...l,
                creditor_address_lines: l.creditor_address.join('\n'),
                return_line: back,
                address_block: [l.recipient_name, ...l.recipient_lines].join('\n'),
                footer_line: `${back} · IBAN ${l.creditor_iban}` +
                        (l.creditor_bic ? ` · BIC ${l.creditor_bic}` : ''),
                invoice_rows: l.invoices.map((i) =>
                        `<tr class="row"><td>${esc(i.number)}</td><td>${esc(i.due)}</td>` +
                        `<td class="r">${esc(i.amount)}</td></tr>`).join('\n'),
                qr_svg: qr,
        };
        return template.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g,
                (_, raw, name) => raw ? String(v[raw] ?? '') : esc(v[name]));
}

// Chromium's process tree: the browser and everything below it.
function tree(root) {
        const kids = new Map();
        for (const d of fs.readdirSync('/proc')) {
                if (!/^\d+$/.test(d))
                        continue;
                try {
                        const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
                        const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
                        if (!kids.has(ppid))
                                kids.set(ppid, []);
                        kids.get(ppid).push(Number(d));
                } catch { /* gone */ }
        }
        const out = [root];
        for (let i = 0; i < out.length; i++)
                out.push(...(kids.get(out[i]) || []));
        return out;
}

function statusKib(pid, key) {
        try {
                const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(
                        new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
                return m ? Number(m[1]) : 0;
        } catch {
                return 0;
        }
}

function cpuTicks(pids) {
        let t = 0;
        for (const pid of pids) {
                try {
                        const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
                        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
                        t += Number(f[11]) + Number(f[12]);   // utime, stime
                } catch { /* gone */ }
        }
        return t;
}

function pssKib(pid) {
        try {
                const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+)/m);
                return m ? Number(m[1]) : 0;
        } catch {
                return 0;
        }
}

(async () => {
        const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-letter-chromium.'));
        let browser;
        try {
                browser = await puppeteer.launch({
                        executablePath: '/usr/bin/chromium',
                        headless: true,
                        userDataDir,
                        // NOTES.md's flags but --no-pdf-header-footer: that one is for
                        // the command line's --print-to-pdf, and with it Chromium
                        // 156 never answers puppeteer (launch times out after 30 s);
                        // page.pdf's displayHeaderFooter: false does its job here.
                        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                               '--disable-component-update', '--disable-sync', '--no-first-run'],
                });
        } catch (e) {
                fs.rmSync(userDataDir, { recursive: true, force: true });
                throw e;
        }
        const root = browser.process().pid;
        let pids = tree(root), peak = 0, peakProcs = 0, samples = 0;
        const hwm = new Map();
        const sample = () => {
                if (samples++ % 10 === 0)
                        pids = tree(root);
                let sum = 0;
                for (const pid of pids) {
                        sum += statusKib(pid, 'VmRSS');
                        hwm.set(pid, Math.max(hwm.get(pid) || 0, statusKib(pid, 'VmHWM')));
                }
                if (sum > peak)
                        peak = sum, peakProcs = pids.length;
        };
        const timer = setInterval(sample, 100);
        try {
                const qr = await Promise.all(letters.slice(0, n).map((l) =>
                        QRCode.toString(l.epc_payload, { type: 'svg', errorCorrectionLevel: 'M',
                                                         margin: 4 })));
                const opts = { format: 'A4', printBackground: true, preferCSSPageSize: true,
                               displayHeaderFooter: false,
                               margin: { top: 0, right: 0, bottom: 0, left: 0 } };
                const tabs = [];
                for (let p = 0; p < pages; p++)
                        tabs.push(await browser.newPage());
                // BENCH_LETTER_PRINT=cdp: DevTools' Page.printToPDF answering
                // with base64 in one message, instead of page.pdf, which asks
                // for a stream and reads it back chunk by chunk (IO.read).
                const cdp = process.env.BENCH_LETTER_PRINT === 'cdp';
                const sessions = new Map();
                const cdpOpts = { printBackground: true, preferCSSPageSize: true,
                                  paperWidth: 210 / 25.4, paperHeight: 297 / 25.4,
                                  marginTop: 0, marginBottom: 0, marginLeft: 0, marginRight: 0,
                                  displayHeaderFooter: false, transferMode: 'ReturnAsBase64' };
                const print = async (page, i) => {
                        await page.setContent(fill(letters[i], qr[i]), { waitUntil: 'load' });
                        if (cdp && !sessions.has(page))
                                sessions.set(page, await page.createCDPSession());
                        const pdf = cdp ? Buffer.from((await sessions.get(page).send(
                                'Page.printToPDF', cdpOpts)).data, 'base64') : await page.pdf(opts);
                        if (pdf.length < 1000 || Buffer.from(pdf.subarray(0, 5)).toString() !== '%PDF-')
                                throw new Error(`letter ${i}: not a PDF`);
                        if (process.env.BENCH_LETTER_KEEP)   // a directory to look at them
                                fs.writeFileSync(path.join(process.env.BENCH_LETTER_KEEP,
                                                           `${i}.pdf`), pdf);
                        return pdf;
                };
                if (once) {
                        fs.writeFileSync(arg4.replace(/(\.pdf)?$/, '.html'), fill(letters[0], qr[0]));
                        fs.writeFileSync(arg4, await print(tabs[0], 0));
                        return;
                }
                // One letter per tab before the clock, like the C side's threads.
                await Promise.all(tabs.map((t, p) => print(t, p % n)));
                pids = tree(root);
                sample();
                const c0 = cpuTicks(pids), u0 = process.cpuUsage();
                const t0 = process.hrtime.bigint();
                let next = 0, bytes = 0, done = 0;
                await Promise.all(tabs.map(async (t) => {
                        for (let i; (i = next++) < n;) {
                                const pdf = await print(t, i);
                                bytes += pdf.length;   // not `bytes += await ...`: racy
                                done++;
                        }
                }));
                const s = Number(process.hrtime.bigint() - t0) / 1e9;
                pids = tree(root);
                sample();
                const tick = 100;   // USER_HZ on Linux
                const chromeMs = (cpuTicks(pids) - c0) * 1000 / tick / done;
                const u = process.cpuUsage(u0);
                const nodeMs = (u.user + u.system) / 1000 / done;
                let hwmSum = 0, pss = 0;
                for (const pid of pids) {
                        hwmSum += hwm.get(pid) || statusKib(pid, 'VmHWM');
                        pss += pssKib(pid);
                }
                console.log(`chromium: ${done} letters, ${pages} pages ` +
                            `(${cdp ? 'Page.printToPDF, base64' : 'page.pdf'}), ${bytes} PDF bytes ` +
                            `(${Math.round(bytes / done)} per letter) in ${s.toFixed(3)} s: ` +
                            `${(done / s).toFixed(1)} letters/s; ${chromeMs.toFixed(2)} ms CPU ` +
                            `per letter in Chromium, ${nodeMs.toFixed(2)} in node; peak RSS ` +
                            `${peak} KiB (sum of VmRSS of ${peakProcs} processes, every 100 ms); ` +
                            `sum of VmHWM ${hwmSum} KiB; PSS at the end ${pss} KiB; ` +
                            `${await browser.version()}`);
        } finally {
                clearInterval(timer);
                await browser.close();
                fs.rmSync(userDataDir, { recursive: true, force: true });
        }
})().catch((e) => {
        console.error(`letter.js: ${e.stack || e}`);
        process.exit(1);
});
