"""Function words of many languages that are never keywords nor count toward a sentence's score.

The tokenizer flags only English stopwords (``agentcore.kernels.textops.STOPWORDS``). Keyword
weights no longer come from the other pages of a crawl (that made them depend on which pages
arrived first), so the words that carry no topic in German, French, Spanish and the rest are
listed here: a fixed list, the same for every page, whatever else the crawl has seen.

>>> from agentcore.analyze.stopwords import STOPWORDS
>>> {"und", "les", "que", "это"} <= STOPWORDS
True
"""
from __future__ import annotations

__all__ = ["STOPWORDS", "stop_ids", "is_stop"]

# Words that are also common English content words ("war", "man", "art", "son", "gift", "fast")
# are left out: a German page loses little by keeping them, an English one would lose a topic.
_LISTS = {
    "en": """
        across actually almost already although always among another anyone anything around away
        back became become becomes best better big came come comes day days different done else
        even ever every far find first following found gave give given gives go goes going gone
        good got great however including instead keep know last later least less let lot made
        make makes making many may maybe much need needs never next often old onto others
        per perhaps put quite rather really right say see seem seen several since something still
        take taken thing things think though three thus together told took toward towards upon us
        use used uses using via want way ways well went whether within without yet back""",
    "de": """
        aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
        anderes auch auf aus bei beim bin bis bist da damit dann das dass dasselbe dazu dein deine
        dem den denn der des dessen dich die dies diese dieselbe diesem diesen dieser dieses dir doch
        dort du durch ein eine einem einen einer eines einige einigen einiger er es etwas euch euer
        eure für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr
        ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder jedes jene jenem
        jenen jener jenes jetzt kann kein keine keinem keinen keiner können könnte machen mein meine
        mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem
        seinen seiner sich sie sind so solche soll sollte sondern sonst über um und uns unser unsere
        unter vom von vor wann warum was weil welche welchem welchen welcher welches wenn werde
        werden wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen
        gibt mehr schon beim seit sowie bereits immer ab eines wurde wurden worden sei""",
    "fr": """
        au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur
        leurs lui ma mais me même mes moi mon ne nos notre nous on ou où par pas pour qu que qui sa
        se ses sur ta te tes toi ton tu un une vos votre vous été était étaient être avoir ai as
        avait avaient ont sont est sera seront fait faire plus sans sous aussi comme tout tous toute
        toutes très bien encore entre depuis donc alors ainsi après avant chez dont lors selon ceux
        celle celles celui ici quand si peu peut peuvent deux autre autres ça cela ceci""",
    "es": """
        al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante
        el ella ellas ellos en entre era es esa esas ese eso esos esta estaba estado estar este
        esto estos está están fue fueron ha han hasta hay la las le les lo los más me mi mis mucho
        muy nada ni no nos nosotros o otra otras otro otros para pero poco por porque que quien se
        ser si sin sobre su sus también tan te tiene tienen todo todos tu tus un una uno unos ya yo
        él sido son según cada sea así hace puede dos""",
    "pt": """
        ao aos as com como da das de dela dele deles do dos ela elas ele eles em entre era essa
        esse esta este eu foi foram há isso isto já lhe mais mas me mesmo meu minha muito na nas
        nem no nos nossa nosso não num numa o os ou para pela pelas pelo pelos por qual quando que
        quem se sem ser seu seus sua suas são só também te tem têm tu um uma você vocês à às é
        está estão ainda pode sobre após""",
    "it": """
        ad agli al alla alle allo anche ancora che chi ci come con da dai dal dalla dalle degli dei
        del della delle dello di dove ed era gli ha hanno il io la le lei lo loro lui ma mi molto
        ne nei nel nella nelle noi non nostro per perché più quale quando quello questa questo se
        sei si sono su sua sue sul sulla suo suoi tra tutti tutto un una uno voi essere stato
        stata fatto già solo dopo""",
    "nl": """
        aan al alles als bij dan dat de der deze die dit doch door een en er ge geen had heb hebben
        heeft het hier hij hoe hun iets ik in is ja je kan kon maar me meer men met mij mijn na
        naar niet niets nog nu of om omdat ons ook op over reeds te tegen toch toen tot uit van
        veel voor want was wat we wel werd wie wij wordt worden zal ze zich zij zijn zo zou""",
    "sv": """
        att av de den denna det detta dig du där efter eller ett från för han har hon honom hur här
        inte jag kan man med mig min mot mycket nu när och om oss på sig sin sina ska skulle som
        så till under upp ut vad var vara vi vid än är även också""",
    "da": """
        af at blev bliver da de dem den denne der deres det dette dig din dog du efter eller en end
        er et for fra ham han hans har havde hende hendes her hos hun hvad hvis hvor ikke jeg jer
        kan kunne med meget men mig min mod nu når og også om op os på sig sin skal som til ud
        under var være vi vil ved""",
    "pl": """
        ale aby bez być był była było byli czy dla do go gdy ich jak jako jednak jego jej jest już
        kiedy ktore który która które lub ma między mnie może na nad nie nich niż od oraz po pod
        przez przy się sobie także tak tam te tego tej też to tu tylko w we więc z za ze że są""",
    "cs": """
        aby ale ani asi až by byl byla bylo byli být co či do jak jako je jeho její jen ještě jsem
        jsme jsou již když kde která které který mezi mu na nad nebo než není od po pod pouze pro
        před při se si tak také tam tedy to tento této tím už ve však za že již jejich""",
    "ru": """
        и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
        ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну ли если уже или ни
        быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
        есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
        тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее
        сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше
        тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой
        перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это также""",
    "tr": """
        ve bir bu da de için ile çok daha gibi olan olarak ama en ne kadar sonra ise ya her şey
        ki mi mı veya değil""",
}

#: Every listed word, lowercased (the tokenizer folds case the same way before hashing).
STOPWORDS: frozenset = frozenset(w for words in _LISTS.values() for w in words.split())

_IDS: dict = {}     # textops module -> (sorted uint64 ids of STOPWORDS, bitmap of their low bits)
_LOW_BITS = 16


def stop_ids(textops):
    """The sorted uint64 token ids of :data:`STOPWORDS` as ``textops`` hashes them (cached)."""
    return _tables(textops)[0]


def _tables(textops):
    got = _IDS.get(textops)
    if got is None:
        import numpy as np

        ids = np.unique(np.array([h for h in map(textops.hash_word, sorted(STOPWORDS)) if h],
                                 np.uint64))
        bitmap = np.zeros(1 << _LOW_BITS, bool)
        bitmap[(ids & np.uint64((1 << _LOW_BITS) - 1)).astype(np.int64)] = True
        got = _IDS[textops] = (ids, bitmap)
    return got


def is_stop(textops, uids):
    """A bool array: which of ``uids`` (uint64 token ids) are listed stopwords."""
    import numpy as np

    ids, bitmap = _tables(textops)
    uids = np.asarray(uids, np.uint64)
    # the low bits rule out almost every id at once; only the few left are looked up
    hit = bitmap[(uids & np.uint64((1 << _LOW_BITS) - 1)).astype(np.int64)]
    maybe = np.flatnonzero(hit)
    at = np.minimum(np.searchsorted(ids, uids[maybe]), ids.size - 1)
    hit[maybe] = ids[at] == uids[maybe]
    return hit
