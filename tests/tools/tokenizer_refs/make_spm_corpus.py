#!/usr/bin/python3
"""Builds a small multilingual training text for the SentencePiece models.

Source: the translated manual pages Debian installs under /usr/share/man
(English, German, French, Spanish, Japanese, Korean), rendered to plain text
with man(1), split into paragraphs, deduplicated and sampled deterministically,
plus a few hundred Chinese/English sentences made up here.
The text itself is not committed (it is derived from installed packages);
the trained .model files are. Writes the corpus to the path given as argv[1].
"""
import glob
import os
import random
import re
import subprocess
import sys

QUOTA = {"": 2200, "de": 1300, "fr": 1300, "es": 700, "ja": 600, "ko": 400}

ZH = [
    "我们今天去公园散步。", "这本书非常有意思。", "北京是中国的首都。", "他每天早上喝一杯咖啡。",
    "计算机可以处理大量的数据。", "请把窗户关上。", "明天会下雨吗？", "我正在学习自然语言处理。",
    "这个程序运行得很快。", "文件已经保存到磁盘上了。", "你好，世界！", "中文和英文混合的句子 with English words。",
    "机器翻译的质量越来越好。", "他们在图书馆里看书。", "天气预报说今天很热。", "这是一个测试句子。",
]


def render(path):
    env = dict(os.environ, MANWIDTH="2000", LC_ALL="C.UTF-8")
    try:
        out = subprocess.run(["man", "--nh", "--nj", "-E", "UTF-8", "-l", path], env=env,
                             capture_output=True, timeout=20).stdout
        out = subprocess.run(["col", "-bx"], input=out, capture_output=True, env=env).stdout
        return out.decode("utf-8", "replace")
    except Exception:
        return ""


def paragraphs(text):
    for line in text.split("\n"):
        line = re.sub(r"\s+", " ", line).strip()
        if len(line) < 25 or len(line) > 400:
            continue
        if "\ufffd" in line or line.isupper():
            continue
        yield line


def main():
    out_path = sys.argv[1]
    rng = random.Random(1234)
    lines = []
    for lang, quota in QUOTA.items():
        base = "/usr/share/man/" + (lang + "/" if lang else "")
        files = sorted(glob.glob(base + "man[1-8]/*.gz"))
        rng.shuffle(files)
        seen = set()
        picked = []
        for f in files[:400]:
            for p in paragraphs(render(f)):
                if p not in seen:
                    seen.add(p)
                    picked.append(p)
            if len(picked) >= quota * 3:
                break
        rng.shuffle(picked)
        lines += picked[:quota]
        print(f"{lang or 'en'}: {min(quota, len(picked))} lines from {len(seen)} paragraphs", file=sys.stderr)
    for i in range(300):
        lines.append(ZH[i % len(ZH)] + " " + ZH[(i * 7 + 3) % len(ZH)])
    rng.shuffle(lines)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
