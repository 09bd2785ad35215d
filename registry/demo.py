"""A seeded synthetic registry: institutions, owners, officers, licences, sites and lists.

`generate(plan)` streams `(source, record)` pairs. Every record is a plain JSON-able dict
that `registry.records.RECORD_ADAPTER` accepts (dates as ISO strings, decimals as strings,
enums as their values). The order is safe to ingest in batches of any size:

1. every `institution` record of the registration source, in index order (oldest first);
2. then, institution by institution, what refers to institutions: the registration
   source's shareholdings, positions, list entries and branches, followed by the other
   agencies' licences, classifications and websites for the same institution.

A caller that batches per source keeps one buffer per source and flushes each when full;
a record of step 2 names only institutions that step 1 has already produced.

The same plan always yields the same stream: everything is drawn from one
`random.Random(plan.seed)`. Nothing is kept per record. Between the passes the generator
holds a few packed columns per institution and per person (`bytearray` and `array`, about
90 and 25 bytes), which is what the second pass needs to name holders and to grow the
ownership graph; during the first pass a set of name hashes keeps names unique. One
million institutions (about 7.4 million records) peak at about 210 MB.

What 10,000 institutions look like: names such as 上海恒鑫网络科技有限公司 or
杭州汇盈股权投资合伙企业（有限合伙）, all different; valid USCCs whose division is one of 52
real divisions of Shanghai, Beijing, Shenzhen, Hangzhou, Chongqing (Jiangjin), Jilin and
Hebi; about 3.4 holdings an institution, 60 % by persons and 40 % by institutions drawn
half by preferential attachment, so a few hold hundreds; ownership mostly one or two levels
deep, plus planned chains that put 0.7 % of institutions ten or more levels down and a few
two- and three-company cycles; partnerships whose managing partner holds 1 %; state-owned
companies held by a state-asset body; officers drawn from 0.8 persons an institution with
Zipf-like reuse; about 5 % with a restricted word in name or scope; about 0.8 % P2P
platforms classified by the banking regulator, 20-odd of which the central bank calls
internet asset management instead (a dispute); payment, bank, private-fund-manager and
insurance licences; ICP filings of websites and apps.

Two things the ingest contract has no record for are folded into existing ones or left
out: a P2P platform's custody bank is named in the banking classification's `reasons`, and
public security (cases) and the leading group (decisions) contribute nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import zlib
from array import array
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from registry.identifiers import (
    InvalidIdentifier,
    mask_resident_id,
    parse_legacy_registration_number,
    resident_id_check_char,
    uscc_check_char,
)
from registry.records import Source

__all__ = ["DemoPlan", "generate"]

Record = dict[str, Any]


@dataclass(frozen=True)
class DemoPlan:
    institutions: int = 10_000
    seed: int = 20160414


def generate(plan: DemoPlan) -> Iterator[tuple[Source, Record]]:
    """Yield (source, record) pairs: all registration institution records first, then the rest.

    See the module docstring for the order and what the data contains.
    """
    world = _World(plan)
    yield from world.institutions()
    yield from world.relations()


# --- reference tables --------------------------------------------------------------------

# (division, ICP abbreviation, registration authority, address prefix, name prefixes,
#  branch label, state-asset body, weight)
_DIVISION_ROWS: tuple[tuple[str, str, str, str, tuple[str, ...], str, str, int], ...] = (
    ("310000", "沪", "上海市", "上海市", ("上海",), "上海", "上海市国有资产监督管理委员会", 6),
    ("310101", "沪", "上海市黄浦区", "上海市黄浦区", ("上海",), "上海黄浦", "", 3),
    ("310104", "沪", "上海市徐汇区", "上海市徐汇区", ("上海",), "上海徐汇", "", 3),
    ("310105", "沪", "上海市长宁区", "上海市长宁区", ("上海",), "上海长宁", "", 3),
    ("310106", "沪", "上海市静安区", "上海市静安区", ("上海",), "上海静安", "", 3),
    ("310107", "沪", "上海市普陀区", "上海市普陀区", ("上海",), "上海普陀", "", 2),
    ("310109", "沪", "上海市虹口区", "上海市虹口区", ("上海",), "上海虹口", "", 3),
    ("310110", "沪", "上海市杨浦区", "上海市杨浦区", ("上海",), "上海杨浦", "", 2),
    ("310112", "沪", "上海市闵行区", "上海市闵行区", ("上海",), "上海闵行", "", 3),
    ("310113", "沪", "上海市宝山区", "上海市宝山区", ("上海",), "上海宝山", "", 2),
    ("310114", "沪", "上海市嘉定区", "上海市嘉定区", ("上海",), "上海嘉定", "", 4),
    ("310115", "沪", "上海市浦东新区", "上海市浦东新区", ("上海",), "上海浦东", "", 9),
    ("310116", "沪", "上海市金山区", "上海市金山区", ("上海",), "上海金山", "", 2),
    ("310117", "沪", "上海市松江区", "上海市松江区", ("上海",), "上海松江", "", 3),
    ("310118", "沪", "上海市青浦区", "上海市青浦区", ("上海",), "上海青浦", "", 3),
    ("310120", "沪", "上海市奉贤区", "上海市奉贤区", ("上海",), "上海奉贤", "", 3),
    ("310151", "沪", "上海市崇明区", "上海市崇明区", ("上海",), "上海崇明", "", 5),
    (
        "110000",
        "京",
        "北京市",
        "北京市",
        ("北京",),
        "北京",
        "北京市人民政府国有资产监督管理委员会",
        3,
    ),
    ("110101", "京", "北京市东城区", "北京市东城区", ("北京",), "北京东城", "", 2),
    ("110102", "京", "北京市西城区", "北京市西城区", ("北京",), "北京西城", "", 2),
    ("110105", "京", "北京市朝阳区", "北京市朝阳区", ("北京",), "北京朝阳", "", 5),
    ("110106", "京", "北京市丰台区", "北京市丰台区", ("北京",), "北京丰台", "", 2),
    ("110108", "京", "北京市海淀区", "北京市海淀区", ("北京",), "北京海淀", "", 5),
    ("110112", "京", "北京市通州区", "北京市通州区", ("北京",), "北京通州", "", 2),
    (
        "440300",
        "粤",
        "深圳市",
        "深圳市",
        ("深圳", "深圳市前海"),
        "深圳",
        "深圳市人民政府国有资产监督管理委员会",
        6,
    ),
    ("440303", "粤", "深圳市罗湖区", "深圳市罗湖区", ("深圳",), "深圳罗湖", "", 2),
    ("440304", "粤", "深圳市福田区", "深圳市福田区", ("深圳",), "深圳福田", "", 3),
    ("440305", "粤", "深圳市南山区", "深圳市南山区", ("深圳",), "深圳南山", "", 3),
    ("440306", "粤", "深圳市宝安区", "深圳市宝安区", ("深圳",), "深圳宝安", "", 2),
    ("440307", "粤", "深圳市龙岗区", "深圳市龙岗区", ("深圳",), "深圳龙岗", "", 2),
    (
        "330100",
        "浙",
        "杭州市",
        "浙江省杭州市",
        ("杭州", "浙江"),
        "杭州",
        "杭州市人民政府国有资产监督管理委员会",
        2,
    ),
    ("330102", "浙", "杭州市上城区", "浙江省杭州市上城区", ("杭州",), "杭州上城", "", 2),
    ("330106", "浙", "杭州市西湖区", "浙江省杭州市西湖区", ("杭州",), "杭州西湖", "", 3),
    ("330108", "浙", "杭州市滨江区", "浙江省杭州市滨江区", ("杭州",), "杭州滨江", "", 2),
    ("330110", "浙", "杭州市余杭区", "浙江省杭州市余杭区", ("杭州",), "杭州余杭", "", 2),
    ("500000", "渝", "重庆市", "重庆市", ("重庆",), "重庆", "重庆市国有资产监督管理委员会", 2),
    ("500103", "渝", "重庆市渝中区", "重庆市渝中区", ("重庆",), "重庆渝中", "", 2),
    ("500105", "渝", "重庆市江北区", "重庆市江北区", ("重庆",), "重庆江北", "", 1),
    ("500112", "渝", "重庆市渝北区", "重庆市渝北区", ("重庆",), "重庆渝北", "", 2),
    (
        "500116",
        "渝",
        "重庆市江津区",
        "重庆市江津区",
        ("重庆", "重庆市江津区"),
        "重庆江津",
        "重庆市江津区国有资产管理中心",
        3,
    ),
    (
        "220000",
        "吉",
        "吉林省",
        "吉林省",
        ("吉林省", "吉林"),
        "吉林",
        "吉林省人民政府国有资产监督管理委员会",
        1,
    ),
    ("220102", "吉", "长春市南关区", "吉林省长春市南关区", ("长春", "吉林"), "长春南关", "", 2),
    ("220104", "吉", "长春市朝阳区", "吉林省长春市朝阳区", ("长春", "吉林"), "长春朝阳", "", 2),
    ("220105", "吉", "长春市二道区", "吉林省长春市二道区", ("长春",), "长春二道", "", 1),
    ("220106", "吉", "长春市绿园区", "吉林省长春市绿园区", ("长春",), "长春绿园", "", 1),
    ("220202", "吉", "吉林市昌邑区", "吉林省吉林市昌邑区", ("吉林市", "吉林"), "吉林昌邑", "", 1),
    ("220204", "吉", "吉林市船营区", "吉林省吉林市船营区", ("吉林市",), "吉林船营", "", 1),
    (
        "410600",
        "豫",
        "鹤壁市",
        "河南省鹤壁市",
        ("鹤壁", "鹤壁市"),
        "鹤壁",
        "鹤壁市人民政府国有资产监督管理委员会",
        1,
    ),
    ("410602", "豫", "鹤壁市鹤山区", "河南省鹤壁市鹤山区", ("鹤壁",), "鹤壁鹤山", "", 1),
    ("410603", "豫", "鹤壁市山城区", "河南省鹤壁市山城区", ("鹤壁",), "鹤壁山城", "", 1),
    ("410611", "豫", "鹤壁市淇滨区", "河南省鹤壁市淇滨区", ("鹤壁",), "鹤壁淇滨", "", 2),
    ("410621", "豫", "浚县", "河南省鹤壁市浚县", ("浚县", "鹤壁"), "浚县", "", 1),
    ("410622", "豫", "淇县", "河南省鹤壁市淇县", ("淇县", "鹤壁"), "淇县", "", 1),
)
_DIV_CODE = tuple(row[0] for row in _DIVISION_ROWS)
_DIV_ICP = tuple(row[1] for row in _DIVISION_ROWS)
_DIV_AUTHORITY = tuple(
    "吉林省市场监督管理厅" if row[2] == "吉林省" else f"{row[2]}市场监督管理局"
    for row in _DIVISION_ROWS
)
_DIV_ADDRESS = tuple(row[3] for row in _DIVISION_ROWS)
_DIV_PREFIXES = tuple(row[4] for row in _DIVISION_ROWS)
_DIV_BRANCH = tuple(row[5] for row in _DIVISION_ROWS)
_DIV_PROVINCE = tuple(row[0][:2] for row in _DIVISION_ROWS)
_PROVINCE_NAMES = {
    "11": "北京市",
    "22": "吉林省",
    "31": "上海市",
    "33": "浙江省",
    "41": "河南省",
    "44": "广东省",
    "50": "重庆市",
}


def _state_body(index: int) -> str:
    """The row's own state-asset body, or that of its city or province."""
    own = _DIVISION_ROWS[index][6]
    if own:
        return own
    code = _DIV_CODE[index]
    for parent in (code[:4] + "00", code[:2] + "0000"):
        if parent in _DIV_CODE:
            return _DIVISION_ROWS[_DIV_CODE.index(parent)][6]
    raise AssertionError(f"no state-asset body above {code}")


_DIV_STATE_BODY = tuple(_state_body(i) for i in range(len(_DIVISION_ROWS)))


def _expand(weights: list[int]) -> tuple[int, ...]:
    """A table in which index i appears weights[i] times: weighted choice is one lookup."""
    return tuple(i for i, w in enumerate(weights) for _ in range(w))


_DIV_TABLE = _expand([row[7] for row in _DIVISION_ROWS])
# Resident numbers carry a county-level code, never a city- or province-level one.
_PERSON_DIV_TABLE = tuple(i for i in _DIV_TABLE if not _DIV_CODE[i].endswith("00"))

_SURNAMES: tuple[str, ...] = (
    *"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤",
    *("欧阳", "司马", "诸葛", "上官"),
)
# Common surnames are much more common: weight falls with rank.
_SURNAME_TABLE = _expand([max(1, int(60 / (rank + 3) ** 0.8)) for rank in range(len(_SURNAMES))])
_MALE_GIVEN = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国峰亮成志东海文博晨彬毅荣庆"
)
_FEMALE_GIVEN = tuple("芳娜敏静丽艳娟霞秀玲燕婷雪慧红梅琳晶莉颖倩洁佳琴云兰萍丹萍凤英华玉欣怡璐蕾")
_GIVEN = ("", *_MALE_GIVEN, *_FEMALE_GIVEN)
_MALE_RANGE = (1, 1 + len(_MALE_GIVEN))
_FEMALE_RANGE = (1 + len(_MALE_GIVEN), len(_GIVEN))

_TRADE_PAIRS = (
    "恒:heng 鑫:xin 汇:hui 达:da 融:rong 信:xin 金:jin 财:cai 富:fu 宝:bao 通:tong 盈:ying "
    "华:hua 中:zhong 安:an 泰:tai 瑞:rui 德:de 丰:feng 利:li 源:yuan 诚:cheng 宏:hong 昌:chang "
    "盛:sheng 隆:long 顺:shun 兴:xing 佳:jia 和:he 嘉:jia 睿:rui 博:bo 创:chuang 智:zhi 新:xin "
    "天:tian 海:hai 云:yun 星:xing 城:cheng 东:dong 方:fang 联:lian 合:he 众:zhong 邦:bang "
    "银:yin 易:yi 点:dian 拍:pai 乐:le 优:you 爱:ai 友:you 惠:hui 民:min 宜:yi 贷:dai 投:tou "
    "开:kai 元:yuan 亿:yi 万:wan 千:qian 百:bai 金:jin 玖:jiu 壹:yi 鼎:ding 弘:hong 坤:kun "
    "乾:qian 晟:sheng 翔:xiang 腾:teng 飞:fei 龙:long 凤:feng 麒:qi 麟:lin 锦:jin 绣:xiu "
    "蓝:lan 海:hai 紫:zi 辰:chen 宇:yu 宙:zhou 圣:sheng 君:jun 国:guo 邦:bang 正:zheng "
    "道:dao 远:yuan 航:hang 启:qi 明:ming 光:guang 耀:yao 辉:hui 灿:can 晶:jing 峰:feng "
    "岳:yue 山:shan 川:chuan 江:jiang 河:he 湖:hu 泽:ze 润:run 沃:wo 禾:he 丰:feng 谷:gu "
    "森:sen 林:lin 松:song 柏:bai 竹:zhu 兰:lan 梅:mei 菊:ju 泓:hong 沛:pei 涵:han 溢:yi "
    "聚:ju 集:ji 融:rong 汇:hui 享:xiang 惠:hui 点:dian 趣:qu 快:kuai 捷:jie 诺:nuo 铭:ming "
    "赢:ying 凯:kai 旋:xuan 雅:ya 致:zhi 臻:zhen 悦:yue 嘉:jia 禧:xi 福:fu 祥:xiang 吉:ji "
    "美:mei 誉:yu 德:de 仁:ren 义:yi 礼:li 信:xin 普:pu 惠:hui 同:tong 舟:zhou 翼:yi 鹏:peng"
)
_TRADE_POOL = dict(pair.split(":", 1) for pair in _TRADE_PAIRS.split())
_TRADE_CHARS = tuple(_TRADE_POOL)
_TRADE_PINYIN = tuple(_TRADE_POOL.values())

# Business scopes; the ones marked restricted carry words the entry screening looks for.
_SCOPES: dict[str, str] = {
    "tech": "从事网络科技、计算机科技领域内的技术开发、技术咨询、技术服务、技术转让，"
    "计算机系统集成，计算机软件开发，网页设计，电子商务（不得从事增值电信业务）",
    "it": "信息技术咨询服务，软件开发，数据处理和存储服务，计算机软硬件及辅助设备的销售",
    "trade": "日用百货、五金交电、服装鞋帽、针纺织品、电子产品、化工原料及产品"
    "（除危险化学品）的销售，从事货物及技术的进出口业务",
    "industry": "实业投资，企业管理咨询，商务信息咨询，建筑材料、机械设备、金属材料的销售",
    "consult": "企业管理咨询，商务信息咨询，市场营销策划，会务服务，展览展示服务，企业形象策划",
    "culture": "文化艺术交流策划，设计、制作、代理、发布各类广告，影视策划，图文设计制作",
    "logistics": "道路货物运输，仓储服务（除危险品），货运代理，供应链管理",
    "build": "建筑工程，市政工程，装饰装修工程，园林绿化工程施工，建筑材料销售",
    "estate": "房地产开发经营，物业管理，房地产经纪，停车场管理",
    "catering": "餐饮企业管理，食品销售，酒店管理",
    "bio": "生物科技领域内的技术开发、技术咨询、技术服务，化妆品、医疗器械的销售",
    "edu": "教育软件开发，教育信息咨询（不得从事教育培训），文化艺术交流策划",
    "agri": "农业技术开发，农产品种植、销售，农业观光旅游服务",
    "auto": "汽车销售，汽车配件销售，汽车租赁，二手车经纪",
    "env": "环保科技领域内的技术开发，环保设备销售，污水处理工程",
    "holding": "实业投资，企业管理，企业管理咨询，商务信息咨询，国内贸易",
    "state": "国有资产经营管理，实业投资，城市基础设施建设投资，房地产开发经营，物业管理",
    "lp": "以自有资金从事投资活动，企业管理咨询，商务信息咨询",
    # restricted
    "invest": "投资管理，资产管理，实业投资，投资咨询，企业管理咨询",
    "asset": "资产管理，投资管理，股权投资，投资咨询，财务咨询",
    "fininfo": "金融信息服务（除金融业务），接受金融机构委托从事金融信息技术外包、"
    "金融业务流程外包、金融知识流程外包，计算机软件开发",
    "p2p": "网络借贷信息中介服务，金融信息服务（除金融业务），投资咨询，企业管理咨询，"
    "计算机网络技术开发",
    "payment": "互联网支付，移动电话支付，预付卡发行与受理，银行卡收单，计算机软硬件开发，数据处理",
    "bank": "吸收公众存款；发放短期、中期和长期贷款；办理国内结算；办理票据承兑与贴现；"
    "代理发行、代理兑付、承销政府债券；买卖政府债券、金融债券；从事同业拆借；"
    "从事银行卡业务；代理收付款项及代理保险业务",
    "fund": "股权投资基金管理，投资管理，资产管理，创业投资，投资咨询（不得从事吸收存款、"
    "融资担保、代客理财、向社会公众集（融）资等金融业务）",
    "crowd": "股权众筹平台服务，互联网信息服务，金融信息服务（除金融业务），创业投资咨询，"
    "企业管理咨询",
    "lpfund": "股权投资，创业投资，投资管理，投资咨询",
    "insurer": "人身保险、财产保险及再保险业务，保险资金运用业务，经保险监督管理机构批准的其他业务",
    "broker": "为投保人拟订投保方案、选择保险人、办理投保手续；协助被保险人或受益人进行索赔；"
    "再保险经纪业务；为委托人提供防灾、防损或风险评估、风险管理咨询服务",
}
_SCOPE_TAIL = "。【依法须经批准的项目，经相关部门批准后方可开展经营活动】"
# A plain company whose scope strays into finance: the kind the screening is meant to catch.
_STRAY_SCOPES = (
    "，金融信息服务（除金融业务）",
    "，投资管理，资产管理",
    "，接受金融机构委托从事金融信息技术外包",
    "，网络借贷信息中介服务",
    "，支付结算系统技术开发",
    "，股权众筹信息咨询",
)

# Plain companies' industry words: (word, scope, weight in tenths of a percent).
_PLAIN_INDUSTRIES = (
    ("网络科技", "tech", 100),
    ("信息技术", "it", 80),
    ("科技", "it", 80),
    ("电子商务", "trade", 40),
    ("商贸", "trade", 80),
    ("贸易", "trade", 60),
    ("实业", "industry", 60),
    ("企业管理咨询", "consult", 50),
    ("文化传媒", "culture", 40),
    ("物流", "logistics", 30),
    ("建筑工程", "build", 40),
    ("房地产开发", "estate", 20),
    ("餐饮管理", "catering", 20),
    ("生物科技", "bio", 20),
    ("教育科技", "edu", 20),
    ("农业开发", "agri", 20),
    ("汽车服务", "auto", 20),
    ("环保科技", "env", 20),
    ("供应链管理", "logistics", 30),
    ("广告", "culture", 20),
    ("投资管理", "invest", 5),
    ("资产管理", "asset", 2),
    ("投资咨询", "invest", 3),
    ("财富管理", "asset", 1),
    ("金融信息服务", "fininfo", 2),
)
_PLAIN_TABLE = _expand([w for _, _, w in _PLAIN_INDUSTRIES])
_HOLDING_INDUSTRIES = ("投资控股", "控股集团", "实业", "企业管理", "投资发展", "产业投资")
_P2P_INDUSTRIES = (
    ("金融信息服务", "p2p"),
    ("金融信息服务", "fininfo"),
    ("网络科技", "p2p"),
    ("互联网金融信息服务", "p2p"),
    ("信息技术", "fininfo"),
    ("资产管理", "p2p"),
)
_PAYMENT_INDUSTRIES = ("支付服务", "电子支付", "网络技术", "数据服务", "支付科技", "信息技术")
_FUND_INDUSTRIES = ("投资管理", "资产管理", "股权投资基金管理", "私募基金管理", "创业投资管理")
_CROWD_INDUSTRIES = ("股权众筹", "众筹网络科技", "互联网金融信息服务")
_STATE_INDUSTRIES = ("国有资产经营", "投资控股", "城市建设投资", "国有资本运营", "建设发展")
_LP_INDUSTRIES = (
    ("投资", 30),
    ("股权投资", 25),
    ("创业投资", 15),
    ("企业管理", 15),
    ("企业管理咨询", 5),
    ("投资咨询", 4),
    ("投资管理", 3),
    ("股权投资基金", 3),
)
_LP_TABLE = _expand([w for _, w in _LP_INDUSTRIES])
_BANK_KINDS = ("农村商业银行", "村镇银行", "农村商业银行", "银行")

# Profiles: what an institution is, fixed in the first pass.
_LLC, _JSC, _LP, _STATE, _P2P, _PAY, _BANK, _FUND, _CROWD, _INSURER, _BROKER = range(11)
_JSC_PROFILES = frozenset({_JSC, _BANK, _INSURER})

# Flags.
_DISPUTED, _CUSTODY, _GP_INSTITUTION, _P2P_RECTIFY, _P2P_BAN = 1, 2, 4, 8, 16

_STATUSES = ("存续", "在业", "吊销", "注销", "迁出")
_ACTIVE, _OPERATING, _REVOKED, _CANCELLED, _MOVED = range(5)

_ROADS = (
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "新华路",
    "和平路",
    "长江路",
    "黄河路",
    "胜利路",
    "光明路",
    "文化路",
    "科技路",
    "创业路",
    "世纪大道",
    "滨江大道",
    "金融街",
    "学府路",
    "工业路",
    "迎宾大道",
    "东方路",
    "南京路",
    "北京路",
    "青年路",
    "朝阳路",
    "兴业路",
    "龙华路",
    "华山路",
)
_QIANHAI = "深圳市前海深港合作区前湾一路1号A栋201室（入驻深圳市前海商务秘书有限公司）"

_CUSTODY_BANKS = (
    "上海银行股份有限公司",
    "徽商银行股份有限公司",
    "江西银行股份有限公司",
    "厦门银行股份有限公司",
    "华夏银行股份有限公司",
    "广东华兴银行股份有限公司",
    "四川新网银行股份有限公司",
    "恒丰银行股份有限公司",
    "浙商银行股份有限公司",
    "北京银行股份有限公司",
)
_P2P_BAN_REASONS = ("设立资金池", "自融自保", "期限错配、拆分标的", "虚构借款标的", "承诺保本保息")
_P2P_FIX_REASONS = ("资金存管未落实", "信息披露不充分", "单一借款人借款余额超限", "线下门店营销")
_ABNORMAL_REASONS = (
    "未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告的",
    "通过登记的住所或者经营场所无法联系的",
    "公示企业信息隐瞒真实情况、弄虚作假的",
    "未按照《企业信息公示暂行条例》第十条规定的期限公示有关企业信息的",
)
_REMOVAL_REASONS = (
    "补报未报年份的年度报告并公示，申请移出",
    "依法办理住所或者经营场所变更登记，申请移出",
    "提出通过登记的住所或者经营场所可以重新取得联系，申请移出",
)
_PAYMENT_TYPES = ("互联网支付", "移动电话支付", "预付卡发行与受理", "银行卡收单", "固定电话支付")
_APP_SUFFIXES = ("理财", "金服", "贷", "钱包", "金融", "宝", "财富")
_TLDS = (".com", ".com", ".cn", ".com.cn", ".net")

_DAY0 = dt.date(1990, 1, 1).toordinal()
_ISO = tuple(
    dt.date.fromordinal(o).isoformat() for o in range(_DAY0, dt.date(2072, 1, 1).toordinal())
)
_EPOCH = dt.date(1995, 1, 1).toordinal()
_LAST_ESTABLISHED = dt.date(2020, 12, 31).toordinal()
_USCC_ERA = dt.date(2015, 10, 1).toordinal()  # from here on, new codes carry "MA" bodies
_LIST_ERA = dt.date(2014, 3, 1).toordinal()  # 经营异常名录 replaced annual inspection
_AS_OF = dt.date(2021, 6, 30).toordinal()
_APP_ERA = dt.date(2013, 1, 1).toordinal()
_YEAR = 365


def _profile_chances() -> tuple[tuple[int, float, int], ...]:
    """(profile, chance, earliest founding date) with the chance raised so that, after the
    institutions founded too early are turned away, the share of all institutions holds."""
    wanted = (
        # profile, share of all institutions, not founded before
        (_P2P, 0.010, dt.date(2010, 1, 1)),  # online lending took off after 2010
        (_PAY, 0.003, dt.date(1995, 1, 1)),
        (_BANK, 0.001, dt.date(1995, 1, 1)),
        (_FUND, 0.010, dt.date(1995, 1, 1)),
        (_CROWD, 0.0015, dt.date(2013, 1, 1)),
        (_INSURER, 0.0004, dt.date(1995, 1, 1)),
        (_BROKER, 0.0006, dt.date(2001, 1, 1)),
        (_STATE, 0.005, dt.date(1995, 1, 1)),
        (_LP, 0.08, dt.date(2007, 6, 1)),  # the amended Partnership Enterprise Law
        (_JSC, 0.05, dt.date(1995, 1, 1)),
    )
    span = _LAST_ESTABLISHED - _EPOCH
    rows = []
    for profile, share, since in wanted:
        # Founding dates follow sqrt(index), so this share of institutions is founded later.
        later = 1 - ((since.toordinal() - _EPOCH) / span) ** 2
        rows.append((profile, share / later, since.toordinal()))
    return tuple(rows)


_PROFILE_CHANCES = _profile_chances()

_ALPHABET31 = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code(body: str) -> str:
    """GB 11714: the 8-character body with its check character.

    `registry.identifiers` checks this character but does not expose how to compute it.
    """
    total = sum(_ALNUM36.index(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return body + ("X" if value == 10 else "0" if value == 11 else str(value))


def _org_body(sequence: int, new_style: bool) -> str:
    """A distinct organisation-code body per sequence number (two bijective scrambles)."""
    if new_style:
        n = (sequence * 387_420_489 + 1_234_567) % 31**6
        chars = []
        for _ in range(6):
            n, digit = divmod(n, 31)
            chars.append(_ALPHABET31[digit])
        return "MA" + "".join(chars)
    return f"{(sequence * 48_271 + 10_000_019) % 100_000_000:08d}"


def _uscc(division: str, sequence: int, new_style: bool) -> str:
    first17 = "91" + division + _org_code(_org_body(sequence, new_style))
    return first17 + uscc_check_char(first17)


def _legacy_registration_number(first14: str) -> str | None:
    """The 15-digit 注册号 whose check digit `identifiers` accepts (found by trying all ten)."""
    for digit in "0123456789":
        try:
            return parse_legacy_registration_number(first14 + digit)
        except InvalidIdentifier:
            continue
    return None


def _trade_indices(code: int) -> list[int]:
    """Undo `_World._trade_name`'s packing: one byte a character, first character highest."""
    indices: list[int] = []
    while code:
        indices.append((code & 0xFF) - 1)
        code >>= 8
    return indices[::-1]


def _nice(amount: int, rng: random.Random) -> int:
    """Round to one or two significant digits, as registered capital usually is."""
    digits = len(str(amount))
    unit = int(10 ** max(0, digits - (2 if rng.random() < 0.3 else 1)))
    return max(unit, round(amount / unit) * unit)


def _percent(units: int) -> str:
    """Hundredths of a percent as a decimal string: 3550 -> '35.50'."""
    return f"{units // 100}.{units % 100:02d}"


_KEEP_DEEPER = tuple(0.3**level for level in range(256))
_BANDS = ((0, 500), (500, 1000), (1000, 2500), (2500, 5000), (5000, 7500), (7500, 10000))


def _band(units: int) -> dict[str, Any]:
    for low, high in _BANDS:
        if units <= high:
            return {"min": str(low // 100), "max": str(high // 100), "min_inclusive": False}
    raise AssertionError(units)


def _years_later(ordinal: int, years: int) -> int:
    """The day before the same date `years` later: how a business term is written."""
    day = dt.date.fromordinal(ordinal)
    try:
        end = day.replace(year=day.year + years)
    except ValueError:  # 29 February
        end = day.replace(year=day.year + years, day=28)
    return end.toordinal() - 1


# --- the generator ------------------------------------------------------------------------


class _World:
    """Both passes and the compact columns they share."""

    def __init__(self, plan: DemoPlan) -> None:
        if plan.institutions < 0:
            raise ValueError(f"institutions must be >= 0, not {plan.institutions}")
        self.n = n = plan.institutions
        self.rng = random.Random(plan.seed)
        # Per institution.
        self.usccs = bytearray(18 * n)
        self.names = bytearray()
        self.name_ends: array[int] = array("I")
        self.trade: array[int] = array("I", bytes(4 * n))
        self.established: array[int] = array("i", bytes(4 * n))
        self.capital: array[int] = array("i", bytes(4 * n))  # in units of 10,000 CNY (万元)
        self.division = bytearray(n)
        self.profile = bytearray(n)
        self.flags = bytearray(n)
        self.status = bytearray(n)
        self.persons_held = bytearray(n)  # how many person holders the first pass decided
        self.institutions_held = bytearray(n)  # ... and institution holders (forced excluded)
        # Explicit structure: forced[b] lists institutions that must hold b (chains, cycles).
        self.forced: dict[int, list[int]] = {}
        self.cycle_edges: set[tuple[int, int]] = set()
        self._plan_structure()
        # Per person.
        self.person_count = max(8, int(0.8 * n))
        self.person_ids = bytearray(18 * self.person_count)
        self.person_names: array[int] = array("I", bytes(4 * self.person_count))
        self.person_born: array[int] = array("H", bytes(2 * self.person_count))
        self._make_persons()
        # Counters for licence and filing numbers.
        self.branches = 0
        self.icp_by_year: dict[int, int] = {}
        self.icp_old = 0
        self.domains: set[str] = set()
        self.payment_licences = 0
        self.bank_licences = 0
        self.fund_managers = 0
        self.insurers = 0

    # -- set-up --------------------------------------------------------------------------

    def _plan_structure(self) -> None:
        """Pick the members of long ownership chains and of small cycles."""
        n, rng = self.n, self.rng
        chains: list[int] = []
        if n >= 40:
            chains = [12 + rng.randrange(8) for _ in range(max(1, n // 1000))]
        cycles: list[int] = []
        if n >= 10:
            cycles = [2 if rng.random() < 0.6 else 3 for _ in range(max(1, n // 2500))]
        wanted = sum(chains) + sum(cycles)
        if wanted > n // 4:
            return
        members = rng.sample(range(n), wanted)
        at = 0
        for length in chains:
            chain = sorted(members[at : at + length])
            at += length
            for upper, lower in itertools.pairwise(chain):
                self.forced[lower] = [upper]
        for size in cycles:
            cycle = sorted(members[at : at + size])
            at += size
            for k, held in enumerate(cycle):
                holder = cycle[k - 1]  # cycle[-1] holds cycle[0]: the edge that closes it
                self.forced[held] = [holder]
                self.cycle_edges.add((holder, held))

    def _make_persons(self) -> None:
        rng = self.rng
        r = rng.random
        count = self.person_count
        ids, names, born = self.person_ids, self.person_names, self.person_born
        divs, surnames = _PERSON_DIV_TABLE, _SURNAME_TABLE
        for p in range(count):
            # Low indices are older and, drawn more often, hold more posts.
            year = min(2000, max(1950, 1950 + (50 * p) // count + int(r() * 5) - 2))
            day = dt.date.fromordinal(dt.date(year, 1, 1).toordinal() + int(r() * 365))
            male = r() < 0.65
            low, high = _MALE_RANGE if male else _FEMALE_RANGE
            first = low + int(r() * (high - low))
            second = low + int(r() * (high - low)) if r() < 0.7 else 0
            surname = surnames[int(r() * len(surnames))]
            sequence = 2 * int(r() * 500) + (1 if male else 0)
            body = f"{_DIV_CODE[divs[int(r() * len(divs))]]}{day:%Y%m%d}{sequence:03d}"
            ids[18 * p : 18 * p + 18] = (body + resident_id_check_char(body)).encode()
            names[p] = surname | first << 8 | second << 16
            born[p] = year

    # -- column access -------------------------------------------------------------------

    def uscc(self, i: int) -> str:
        return self.usccs[18 * i : 18 * i + 18].decode()

    def name(self, i: int) -> str:
        start = self.name_ends[i - 1] if i else 0
        return self.names[start : self.name_ends[i]].decode()

    def person_name(self, p: int) -> str:
        packed = self.person_names[p]
        return _SURNAMES[packed & 0xFF] + _GIVEN[packed >> 8 & 0xFF] + _GIVEN[packed >> 16]

    def person_ref(self, p: int) -> Record:
        number = self.person_ids[18 * p : 18 * p + 18].decode()
        r = self.rng.random()
        if r < 0.08:
            number = mask_resident_id(number)
        elif r < 0.1:
            number = "非公示项"
        return {"name": self.person_name(p), "id_number": number}

    def pick_person(self, established_year: int) -> int:
        """Zipf-like reuse, among persons at least 18 when the institution was founded."""
        r = self.rng.random
        count = self.person_count
        born = self.person_born
        for _ in range(6):
            p = int(count * r() ** 2) if r() < 0.3 else int(count * r())
            if born[p] + 18 <= established_year:
                return p
        return int(count * 0.3 * r())

    # -- first pass: institutions --------------------------------------------------------

    def institutions(self) -> Iterator[tuple[Source, Record]]:
        seen: set[int] = set()
        for i in range(self.n):
            yield Source.REGISTRATION, self._institution(i, seen)

    def _trade_name(self) -> tuple[str, int]:
        r = self.rng.random
        pool = _TRADE_CHARS
        u = r()
        length = 2 if u < 0.7 else 3 if u < 0.97 else 4
        code = 0
        text = ""
        for _ in range(length):
            k = int(r() * len(pool))
            code = code << 8 | (k + 1)
            text += pool[k]
        return text, code

    def _unique_name(
        self, seen: set[int], prefix: str, form: str, industry: str, paren: bool
    ) -> tuple[str, int]:
        for _ in range(1000):
            trade, code = self._trade_name()
            if paren:
                name = f"{trade}（{prefix[:2]}）{industry}{form}"
            else:
                name = f"{prefix}{trade}{industry}{form}"
            encoded = name.encode()
            key = zlib.crc32(encoded) << 32 | zlib.adler32(encoded)
            if key not in seen:
                seen.add(key)
                return name, code
        raise RuntimeError("ran out of distinct names; widen the trade-name pool")

    def _choose_profile(self, i: int, established: int) -> tuple[int, int]:
        """The institution's profile and flags; forced chain and cycle members are plain."""
        r = self.rng.random
        if i in self.forced:
            return (_JSC if r() < 0.1 else _LLC), 0
        u = r()
        chance = 0.0
        for profile, share, since in _PROFILE_CHANCES:
            chance += share
            if u < chance:
                return (profile, self._flags(profile)) if established >= since else (_LLC, 0)
        return _LLC, 0

    def _flags(self, profile: int) -> int:
        r = self.rng.random
        flags = 0
        if profile == _P2P:
            v = r()
            flags = _P2P_BAN if v < 0.35 else _P2P_RECTIFY if v < 0.85 else 0
            if r() < 0.2:
                flags |= _DISPUTED
            if not flags & _P2P_BAN and r() < 0.4:
                flags |= _CUSTODY
        elif profile == _LP and r() < 0.6:
            flags = _GP_INSTITUTION
        return flags

    def _holder_counts(self, i: int, profile: int) -> tuple[int, int]:
        """How many person and institution holders, decided now for the enterprise type.

        Forced holders (chains, cycles) come on top of the institutions counted here.
        """
        r = self.rng.random
        if profile == _STATE:
            return 0, 0
        if profile == _LP:
            total = 3 + int(r() ** -0.7)
            share_institutions = 0.35
        elif profile in _JSC_PROFILES:
            total = 2 + int(2 * r() ** -0.6)
            share_institutions = 0.6 if profile != _JSC else 0.4
        else:
            u = r()
            total = (
                1
                if u < 0.30
                else 2
                if u < 0.62
                else 3
                if u < 0.78
                else 4
                if u < 0.86
                else 5
                if u < 0.91
                else 6 + int(r() * 4)
                if u < 0.97
                else 10 + int(r() * 20)
            )
            share_institutions = 0.35 if total == 1 else 0.4
        forced = self.forced.get(i, [])
        total = max(min(total, 60), len(forced) + 1)  # a forced holder never holds alone
        institutions = sum(1 for _ in range(total) if r() < share_institutions) - len(forced)
        # Holders are drawn among earlier institutions, which bounds how many there can be.
        earlier = i - sum(1 for j in forced if j < i)
        institutions = max(0, min(institutions, earlier))
        return total - len(forced) - institutions, institutions

    def _institution(self, i: int, seen: set[int]) -> Record:
        rng = self.rng
        r = rng.random
        n = self.n
        # Older institutions come first; a square root makes recent years busier.
        established = _EPOCH + int(((i + r()) / max(n, 1)) ** 0.5 * (_LAST_ESTABLISHED - _EPOCH))
        self.established[i] = established
        profile, flags = self._choose_profile(i, established)
        self.profile[i] = profile
        div = _DIV_TABLE[int(r() * len(_DIV_TABLE))]
        self.division[i] = div
        persons, institutions = self._holder_counts(i, profile)
        self.persons_held[i] = persons
        self.institutions_held[i] = institutions
        forced = len(self.forced.get(i, ()))
        if profile == _LP and (flags & _GP_INSTITUTION) and institutions + forced == 0:
            flags &= ~_GP_INSTITUTION
        self.flags[i] = flags

        prefixes = _DIV_PREFIXES[div]
        prefix = prefixes[int(r() * len(prefixes))]
        paren = False
        scope_key: str
        minimum = 10  # 万元
        if profile == _LP:
            industry = _LP_INDUSTRIES[_LP_TABLE[int(r() * len(_LP_TABLE))]][0]
            form = "合伙企业（有限合伙）" if r() < 0.8 else "中心（有限合伙）"
            scope_key = "lpfund" if r() < 0.05 else "lp"
            enterprise_type = "有限合伙企业"
            minimum = 100
        else:
            if i in self.forced:
                industry, scope_key = _HOLDING_INDUSTRIES[int(r() * 6)], "holding"
                minimum = 1000
            elif profile == _P2P:
                industry, scope_key = _P2P_INDUSTRIES[int(r() * len(_P2P_INDUSTRIES))]
                minimum = 1000
            elif profile == _PAY:
                industry, scope_key = _PAYMENT_INDUSTRIES[int(r() * 6)], "payment"
                minimum = 10000
            elif profile == _BANK:
                industry, scope_key = _BANK_KINDS[int(r() * 4)], "bank"
                minimum = 10000
            elif profile == _FUND:
                industry, scope_key = _FUND_INDUSTRIES[int(r() * 5)], "fund"
                minimum = 100
            elif profile == _CROWD:
                industry, scope_key = _CROWD_INDUSTRIES[int(r() * 3)], "crowd"
                minimum = 500
            elif profile == _INSURER:
                industry, scope_key = ("人寿保险", "财产保险")[int(r() * 2)], "insurer"
                minimum = 20000
            elif profile == _BROKER:
                industry, scope_key = ("保险经纪", "保险代理")[int(r() * 2)], "broker"
                minimum = 500
            elif profile == _STATE:
                industry, scope_key = _STATE_INDUSTRIES[int(r() * 5)], "state"
                minimum = 1000
            else:
                industry, scope_key, _ = _PLAIN_INDUSTRIES[
                    _PLAIN_TABLE[int(r() * len(_PLAIN_TABLE))]
                ]
                paren = r() < 0.1
            form = "股份有限公司" if profile in _JSC_PROFILES else "有限公司"
            enterprise_type = self._enterprise_type(profile, persons, institutions + forced)
        name, trade = self._unique_name(seen, prefix, form, industry, paren)
        self.trade[i] = trade
        encoded = name.encode()
        self.names += encoded
        self.name_ends.append(len(self.names))

        u = r()
        capital = int(minimum * (1 - u * (1 - (minimum / 500_000) ** 0.45)) ** (-1 / 0.45))
        capital = min(500_000, _nice(capital, rng))
        self.capital[i] = capital

        new_style = established >= _USCC_ERA
        uscc = _uscc(_DIV_CODE[div], i, new_style)
        self.usccs[18 * i : 18 * i + 18] = uscc.encode()

        status = _ACTIVE
        u = r()
        if u < 0.05 or (flags & _P2P_BAN and u < 0.5):
            status = _REVOKED
        elif u < 0.09:
            status = _CANCELLED
        elif u < 0.093:
            status = _MOVED
        elif u < 0.12:
            status = _OPERATING
        self.status[i] = status

        record: Record = {
            "type": "institution",
            "uscc": uscc,
            "name": name,
            "enterprise_type": enterprise_type,
            "registered_capital": {"amount": f"{capital * 10_000}.00", "currency": "CNY"},
            "established": _ISO[established - _DAY0],
            "term_start": _ISO[established - _DAY0],
        }
        if profile == _LP or r() < 0.55:  # otherwise 长期, no end
            years = (10, 20, 30, 50)[int(r() * 4)]
            end = _years_later(established, years)
            while end < _AS_OF:  # a company outliving its term extends it
                years += 10
                end = _years_later(established, years)
            record["term_end"] = _ISO[end - _DAY0]
        record["registration_authority"] = _DIV_AUTHORITY[div]
        record["status"] = _STATUSES[status]
        if status in (_REVOKED, _CANCELLED, _MOVED):
            start = max(
                established + _YEAR, dt.date(2016, 4, 14).toordinal() if flags & _P2P_BAN else 0
            )
            start = min(start, _AS_OF)
            record["status_date"] = _ISO[start + int(r() * (_AS_OF - start)) - _DAY0]
        record["address"] = self._address(div)
        record["division"] = _DIV_CODE[div]
        scope = _SCOPES[scope_key]
        if profile == _LLC and r() < 0.005:
            scope += _STRAY_SCOPES[int(r() * len(_STRAY_SCOPES))]
        record["business_scope"] = scope + _SCOPE_TAIL
        u = r()
        if u < 0.05 and profile not in (_BANK, _INSURER):
            # Renamed: often away from a finance word once the campaign began.
            former_industry = "投资管理" if u < 0.02 else industry
            former, _ = self._unique_name(seen, prefix, form, former_industry, False)
            record["former_names"] = [former]
        if not new_style and r() < 0.008:
            legacy = _legacy_registration_number(f"{_DIV_CODE[div]}{i % 100_000_000:08d}")
            if legacy is not None:
                record["legacy_registration_number"] = legacy
        return record

    @staticmethod
    def _enterprise_type(profile: int, persons: int, institutions: int) -> str:
        if profile == _STATE:
            return "有限责任公司（国有独资）"
        if profile in _JSC_PROFILES:
            return (
                "股份有限公司（非上市、自然人投资或控股）" if persons else "股份有限公司（非上市）"
            )
        if persons + institutions == 1:
            return "有限责任公司（自然人独资）" if persons else "有限责任公司（法人独资）"
        if persons >= institutions:
            return "有限责任公司（自然人投资或控股）"
        return "其他有限责任公司"

    def _address(self, div: int) -> str:
        r = self.rng.random
        if _DIV_CODE[div] == "440300" and r() < 0.6:
            return _QIANHAI
        road = _ROADS[int(r() * len(_ROADS))]
        number = 1 + int(r() ** 2 * 1500)
        if r() < 0.5:
            return (
                f"{_DIV_ADDRESS[div]}{road}{number}号{1 + int(r() * 30)}层{1 + int(r() * 20):02d}室"
            )
        return f"{_DIV_ADDRESS[div]}{road}{number}号{1 + int(r() * 12)}幢{100 + int(r() * 1900)}室"

    # -- second pass: everything that names institutions ---------------------------------

    def relations(self) -> Iterator[tuple[Source, Record]]:
        # Preferential attachment: an institution appears once when founded and once more
        # each time it takes a holding, so sampling this array favours the big holders.
        self.targets: array[int] = array("i")
        # How many institution levels sit above each institution (cycles' back edges aside).
        self.depth = bytearray(self.n)
        for i in range(self.n):
            holders = yield from self._holdings(i)
            yield from self._positions(i, holders)
            yield from self._registration_extras(i)
            yield from self._agency_records(i)
            self.targets.append(i)

    def _institution_holders(self, i: int, forced: list[int]) -> list[int]:
        """Earlier institutions, by preferential attachment, mostly near the top of a group.

        Accepting a candidate less often the deeper it sits keeps most ownership trees a few
        levels deep, as they are; the long chains are the planned ones.
        """
        r = self.rng.random
        targets, depth = self.targets, self.depth
        chosen = set(forced)
        picked: list[int] = []
        for _ in range(self.institutions_held[i]):
            j = -1
            for _attempt in range(8):
                # Half preferential, half uniform: big holders, but no single giant.
                candidate = targets[int(r() * len(targets))] if r() < 0.5 else int(r() * i)
                level = depth[candidate]
                if candidate not in chosen and (level == 0 or r() < _KEEP_DEEPER[level]):
                    j = candidate
                    break
            if j < 0:
                j = int(r() * i)
                while j in chosen:  # _holder_counts left enough earlier institutions
                    j = (j + 1) % i
            chosen.add(j)
            picked.append(j)
        targets.extend(picked)
        above = [depth[j] for j in forced + picked if j < i]
        depth[i] = min(255, 1 + max(above)) if above else 0
        return picked

    def _holdings(self, i: int) -> Generator[tuple[Source, Record], None, list[int]]:
        """Yield i's shareholdings; return its person holders, the managing partner first."""
        rng = self.rng
        r = rng.random
        uscc = self.uscc(i)
        established = self.established[i]
        capital = self.capital[i]
        profile = self.profile[i]
        year = dt.date.fromordinal(established).year
        registration = Source.REGISTRATION
        founded = _ISO[established - _DAY0]
        if profile == _STATE:
            whole = {"amount": f"{capital * 10_000}.00", "currency": "CNY"}
            yield (
                registration,
                {
                    "type": "shareholding",
                    "institution": uscc,
                    "holder": {"kind": "state_body", "name": _DIV_STATE_BODY[self.division[i]]},
                    "share": {"exact": "100.00"},
                    "subscribed": whole,
                    "subscribed_date": founded,
                    "paid_in": whole,
                    "paid_in_date": founded,
                    "contribution_method": "货币",
                    "valid_from": founded,
                },
            )
            return []

        forced = self.forced.get(i, [])
        picked = self._institution_holders(i, forced)
        persons: list[int] = []
        for _ in range(self.persons_held[i]):
            for _attempt in range(4):
                p = self.pick_person(year)
                if p not in persons:
                    persons.append(p)
                    break

        rest = [(True, j) for j in picked] + [(False, p) for p in persons]
        rng.shuffle(rest)
        managing: tuple[bool, int] | None = None
        if profile == _LP and len(rest) > 1:
            company = bool(self.flags[i] & _GP_INSTITUTION)
            at = next((k for k, h in enumerate(rest) if h[0] == company), 0)
            managing = rest.pop(at)

        # Shares in hundredths of a percent, summing to exactly 10,000.
        total = 10_000 - (100 if managing else 0)
        units: list[int] = []
        if forced:
            cross = (forced[0], i) in self.cycle_edges
            head = 500 + int(r() * 2_500) if cross else 5_100 + int(r() * 4_900)
            head = min(head, total - 50 * len(rest)) if rest else total
            units.append(head)
            total -= head
        if rest:
            weights = [r() ** 2 + 0.05 for _ in rest]
            scale = (total - len(rest)) / sum(weights)
            split = sorted((1 + int(w * scale) for w in weights), reverse=True)
            split[0] += total - sum(split)
            units += split
        holders = [(True, j) for j in forced] + rest
        if managing:
            holders.append(managing)
            units.append(100)

        banded = len(holders) > 1 and r() < 0.02
        for k, (is_institution, who) in enumerate(holders):
            holder: Record
            if is_institution:
                holder = {"kind": "institution", "uscc": self.uscc(who), "name": self.name(who)}
            else:
                holder = {"kind": "person", "person": self.person_ref(who)}
            record: Record = {"type": "shareholding", "institution": uscc, "holder": holder}
            since = established
            if r() < 0.2:  # came in later, by a transfer or an increase
                since = min(_AS_OF, established + int(r() * 6 * _YEAR))
            share = units[k]
            if banded:
                # Some feeds publish only a band; they publish no amounts either.
                record["share"] = _band(share)
            else:
                record["share"] = {"exact": _percent(share)}
                amount = capital * share  # 万元 x 1/10,000 of 100 %: CNY
                record["subscribed"] = {"amount": f"{amount}.00", "currency": "CNY"}
                if r() < 0.5:
                    record["subscribed_date"] = _ISO[since - _DAY0]
                else:
                    due = dt.date(year + 5 + int(r() * 30), 12, 31).toordinal()
                    record["subscribed_date"] = _ISO[max(due, since) - _DAY0]
                u = r()
                if u < 0.6:
                    paid = amount if u < 0.4 else amount * int(1 + r() * 9) // 10
                    record["paid_in"] = {"amount": f"{paid}.00", "currency": "CNY"}
                    paid_on = min(_AS_OF, since + int(r() * 60))
                    record["paid_in_date"] = _ISO[paid_on - _DAY0]
                record["contribution_method"] = "货币" if r() < 0.93 else "货币、实物"
            record["valid_from"] = _ISO[since - _DAY0]
            if managing and k == len(holders) - 1:
                record["interests"] = ["managing_partner"]
            yield registration, record
        people = [who for is_institution, who in holders if not is_institution]
        if managing and not managing[0]:
            people.insert(0, people.pop())
        return people

    def _positions(self, i: int, holders: list[int]) -> Iterator[tuple[Source, Record]]:
        """A legal representative and one to four other officers, often among the holders."""
        r = self.rng.random
        uscc = self.uscc(i)
        established = self.established[i]
        year = dt.date.fromordinal(established).year
        profile = self.profile[i]
        founded = _ISO[established - _DAY0]

        def post(p: int, role: str, title: str) -> tuple[Source, Record]:
            since = founded
            if r() < 0.25:
                since = _ISO[min(_AS_OF, established + int(r() * 2_000)) - _DAY0]
            return Source.REGISTRATION, {
                "type": "position",
                "institution": uscc,
                "person": self.person_ref(p),
                "role": role,
                "title": title,
                "valid_from": since,
            }

        if profile == _LP:
            gp_is_person = not self.flags[i] & _GP_INSTITUTION
            legal = holders[0] if gp_is_person and holders else self.pick_person(year)
            title = "执行事务合伙人" if gp_is_person else "执行事务合伙人委派代表"
            yield post(legal, "legal_representative", title)
            yield post(legal, "executive_partner", title)
            return

        legal = holders[0] if holders and r() < 0.6 else self.pick_person(year)
        used = {legal}

        def other() -> int:
            for _ in range(6):
                if holders and r() < 0.4:
                    p = holders[int(r() * len(holders))]
                else:
                    p = self.pick_person(year)
                if p not in used:
                    used.add(p)
                    return p
            return -1

        board = profile in _JSC_PROFILES or profile == _STATE or r() < 0.2
        if board:
            title = "董事长" if r() < 0.85 else "董事长兼总经理"
            roles = ["chairman", "supervisor", "general_manager", "director", "director"]
        else:
            title = "执行董事" if r() < 0.6 else "执行董事兼总经理"
            roles = ["supervisor", "general_manager"]
        yield post(legal, "legal_representative", title)
        for role in roles[: 1 + int(r() * 4)]:
            if role == "chairman":
                yield post(legal, role, "董事长")
            elif role == "general_manager" and title.endswith("兼总经理"):
                yield post(legal, role, "总经理")
            else:
                p = other()
                if p >= 0:
                    label = {"supervisor": "监事会主席" if board else "监事", "director": "董事"}
                    yield post(p, role, label.get(role, "总经理"))

    def _registration_extras(self, i: int) -> Iterator[tuple[Source, Record]]:
        r = self.rng.random
        established = self.established[i]
        status = self.status[i]
        div = self.division[i]
        if r() < (0.25 if status == _REVOKED else 0.015):
            start = max(established + _YEAR, _LIST_ERA)
            if start < _AS_OF:
                listed = start + int(r() * (_AS_OF - start))
                entry: Record = {
                    "type": "list_entry",
                    "institution": self.uscc(i),
                    "list": "abnormal_operation",
                    "reason": _ABNORMAL_REASONS[int(r() * len(_ABNORMAL_REASONS))],
                    "listed_on": _ISO[listed - _DAY0],
                    "authority": _DIV_AUTHORITY[div],
                }
                removed = r() < 0.4 and status != _REVOKED and listed + 30 < _AS_OF
                if removed:
                    entry["removed_on"] = _ISO[
                        listed + 30 + int(r() * (_AS_OF - listed - 30)) - _DAY0
                    ]
                    entry["removal_reason"] = _REMOVAL_REASONS[int(r() * len(_REMOVAL_REASONS))]
                yield Source.REGISTRATION, entry
                if not removed and listed + 3 * _YEAR < _AS_OF and r() < 0.3:
                    yield (
                        Source.REGISTRATION,
                        {
                            "type": "list_entry",
                            "institution": self.uscc(i),
                            "list": "serious_violation",
                            "reason": "被列入经营异常名录届满3年仍未履行相关义务",
                            "listed_on": _ISO[listed + 3 * _YEAR + 1 - _DAY0],
                            "authority": _DIV_AUTHORITY[div],
                        },
                    )
        if status in (_ACTIVE, _OPERATING) and r() < 0.01:
            other = _DIV_TABLE[int(r() * len(_DIV_TABLE))]
            if other == div:
                other = (other + 1) % len(_DIV_CODE)
            opened = min(_AS_OF, established + int(r() * 8 * _YEAR))
            sequence = self.n + self.branches
            self.branches += 1
            yield (
                Source.REGISTRATION,
                {
                    "type": "branch",
                    "institution": self.uscc(i),
                    "branch_name": f"{self.name(i)}{_DIV_BRANCH[other]}分公司",
                    "branch_uscc": _uscc(_DIV_CODE[other], sequence, opened >= _USCC_ERA),
                    "registration_authority": _DIV_AUTHORITY[other],
                    "established": _ISO[opened - _DAY0],
                },
            )

    def _agency_records(self, i: int) -> Iterator[tuple[Source, Record]]:
        r = self.rng.random
        profile = self.profile[i]
        flags = self.flags[i]
        status = self.status[i]
        established = self.established[i]
        div = self.division[i]
        uscc = self.uscc(i)
        dead = status in (_REVOKED, _CANCELLED)
        after = max(established + 90, dt.date(2011, 5, 26).toordinal())

        if profile == _P2P:
            remediation = (
                "ban" if flags & _P2P_BAN else "rectify" if flags & _P2P_RECTIFY else "compliant"
            )
            reasons: list[str] = []
            if flags & _P2P_BAN:
                reasons.append(_P2P_BAN_REASONS[int(r() * len(_P2P_BAN_REASONS))])
            elif flags & _P2P_RECTIFY:
                reasons.append(_P2P_FIX_REASONS[int(r() * len(_P2P_FIX_REASONS))])
            if flags & _CUSTODY:
                bank = _CUSTODY_BANKS[int(r() * len(_CUSTODY_BANKS))]
                reasons.append(f"资金存管银行：{bank}")
            record: Record = {
                "type": "classification",
                "institution": uscc,
                "domain": "p2p_lending",
                "nature": "信用中介" if flags & _P2P_BAN and r() < 0.5 else "信息中介",
                "remediation_class": remediation,
                "valid_from": _ISO[dt.date(2016, 10, 1).toordinal() + int(r() * 400) - _DAY0],
            }
            if reasons:
                record["reasons"] = "；".join(reasons)
            if flags & _DISPUTED:
                record["nature"] = "信息中介"
            yield Source.BANKING, record
            if flags & _DISPUTED:
                yield (
                    Source.CENTRAL_BANK,
                    {
                        "type": "classification",
                        "institution": uscc,
                        "domain": "internet_asset_management",
                        "nature": "通过互联网开展资产管理业务",
                        "reasons": "平台销售打包的债权转让产品，实为资产管理",
                        "valid_from": _ISO[
                            dt.date(2017, 1, 1).toordinal() + int(r() * 300) - _DAY0
                        ],
                    },
                )
        elif profile == _PAY:
            self.payment_licences += 1
            seq = self.payment_licences
            start = max(after, dt.date(2011, 5, 26).toordinal() + int(r() * 4 * _YEAR))
            count = 1 + int(r() * 3)
            kinds = sorted(
                set(_PAYMENT_TYPES[int(r() * len(_PAYMENT_TYPES))] for _ in range(count))
            )
            batch = 1 + min(8, (start - dt.date(2011, 5, 26).toordinal()) // 180)
            yield (
                Source.CENTRAL_BANK,
                {
                    "type": "licence",
                    "institution": uscc,
                    "issuer": "central_bank",
                    "licence_type": "payment",
                    "number": f"Z2{batch:04d}{_DIV_PROVINCE[div]}{seq % 100_000:05d}{seq * 7 % 10}",
                    "business_types": kinds,
                    "coverage": "全国" if r() < 0.4 else _PROVINCE_NAMES[_DIV_PROVINCE[div]],
                    "status": "cancelled" if dead else "valid",
                    "valid_from": _ISO[start - _DAY0],
                    "valid_to": _ISO[_years_later(start, 5) - _DAY0],
                },
            )
        elif profile == _BANK:
            self.bank_licences += 1
            yield (
                Source.BANKING,
                {
                    "type": "licence",
                    "institution": uscc,
                    "issuer": "banking",
                    "licence_type": "bank",
                    "number": f"B{1000 + self.bank_licences % 9000:04d}H{_DIV_CODE[div]}001",
                    "business_types": ["吸收公众存款", "发放贷款", "办理国内结算"],
                    "coverage": _DIV_ADDRESS[div],
                    "status": "revoked" if dead else "valid",
                    "valid_from": _ISO[established + int(r() * 60) - _DAY0],
                },
            )
        elif profile == _FUND:
            self.fund_managers += 1
            start = max(established + 30, dt.date(2014, 3, 17).toordinal())
            start = min(_AS_OF, start + int(r() * 3 * _YEAR))
            yield (
                Source.SECURITIES,
                {
                    "type": "licence",
                    "institution": uscc,
                    "issuer": "securities",
                    "licence_type": "private_fund_manager",
                    "number": f"P{1_000_000 + self.fund_managers % 1_000_000:07d}",
                    "business_types": [
                        "私募证券投资基金管理人" if r() < 0.4 else "私募股权、创业投资基金管理人"
                    ],
                    "status": "cancelled" if dead or r() < 0.08 else "valid",
                    "valid_from": _ISO[start - _DAY0],
                },
            )
        elif profile == _CROWD:
            remediation = ("compliant", "rectify", "ban")[int(r() * 3)]
            yield (
                Source.SECURITIES,
                {
                    "type": "classification",
                    "institution": uscc,
                    "domain": "equity_crowdfunding",
                    "nature": "互联网非公开股权融资平台" if r() < 0.7 else "股权众筹平台",
                    "remediation_class": remediation,
                    "valid_from": _ISO[dt.date(2016, 10, 1).toordinal() + int(r() * 400) - _DAY0],
                },
            )
        elif profile in (_INSURER, _BROKER):
            self.insurers += 1
            insurer = profile == _INSURER
            yield (
                Source.INSURANCE,
                {
                    "type": "licence",
                    "institution": uscc,
                    "issuer": "insurance",
                    "licence_type": "insurance",
                    "number": f"{self.insurers:06d}"
                    if insurer
                    else f"{_DIV_CODE[div]}{self.insurers:08d}",
                    "business_types": ["人身保险" if "人寿" in self.name(i) else "财产保险"]
                    if insurer
                    else ["保险经纪" if "经纪" in self.name(i) else "保险代理"],
                    "coverage": "全国" if insurer else _DIV_ADDRESS[div],
                    "status": "cancelled" if dead else "valid",
                    "valid_from": _ISO[established + int(r() * 120) - _DAY0],
                },
            )

        online = profile in (_P2P, _PAY, _CROWD)
        if online or r() < (0.3 if profile == _FUND else 0.04):
            yield from self._websites(i, uscc, online)

    def _websites(self, i: int, uscc: str, online: bool) -> Iterator[tuple[Source, Record]]:
        r = self.rng.random
        div = self.division[i]
        established = self.established[i]
        status = self.status[i]
        flags = self.flags[i]
        filed = max(established + 30, dt.date(2005, 1, 1).toordinal())
        filed = min(_AS_OF, filed + int(r() * 3 * _YEAR))
        year = dt.date.fromordinal(filed).year
        if year >= 2019:
            count = self.icp_by_year.get(year, 0) + 1
            self.icp_by_year[year] = count
            number = f"{year}{count % 1_000_000:06d}"
        else:
            self.icp_old += 1
            number = f"{10_000_000 + self.icp_old * 7_919 % 90_000_000}"
        filing = f"{_DIV_ICP[div]}ICP备{number}号-1"
        trade = _trade_indices(self.trade[i])
        stem = "".join(_TRADE_PINYIN[k] for k in trade)
        if self.profile[i] == _P2P and r() < 0.5:
            stem += ("dai", "jr", "p2p", "licai")[int(r() * 4)]
        domain = stem + _TLDS[int(r() * len(_TLDS))]
        suffix = 2
        while domain in self.domains:
            domain = f"{stem}{suffix}{_TLDS[0]}"
            suffix += 1
        self.domains.add(domain)
        shut = bool(flags & _P2P_BAN) and r() < 0.8
        site_status = "shut_down" if shut else "cancelled" if status == _CANCELLED else "filed"
        yield (
            Source.TELECOM,
            {
                "type": "website",
                "institution": uscc,
                "kind": "website",
                "filing_number": filing,
                "domain": "www." + domain,
                "status": site_status,
                "valid_from": _ISO[filed - _DAY0],
            },
        )
        if online and r() < 0.5:
            trade_name = "".join(_TRADE_CHARS[k] for k in trade)
            yield (
                Source.TELECOM,
                {
                    "type": "website",
                    "institution": uscc,
                    "kind": "app",
                    "app_name": trade_name + _APP_SUFFIXES[int(r() * len(_APP_SUFFIXES))],
                    "domain": domain,
                    "status": site_status,
                    "valid_from": _ISO[min(_AS_OF, max(filed, _APP_ERA) + int(r() * 700)) - _DAY0],
                },
            )
