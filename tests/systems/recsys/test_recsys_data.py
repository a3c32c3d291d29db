"""The readers (MovieLens for real; H&M and OTTO on small files written here), implicit feedback, splits."""

import json

import numpy as np
import pytest

from nanozoo.data import DataError
from nanozoo.systems.recsys import data


def _write_movielens(folder):
    folder.mkdir()
    (folder / "movies.csv").write_bytes(
        b"movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n"
        b'11,"American President, The (1995)",Comedy|Drama|Romance\r\n'
        b"20,Nothing (2000),(no genres listed)\r\n"
    )
    (folder / "ratings.csv").write_bytes(
        b"userId,movieId,rating,timestamp\r\n7,11,4.5,300\r\n7,1,3.0,100\r\n3,20,5.0,50\r\n3,1,4.0,60\r\n"
    )
    return folder


def test_movielens_reader_on_a_small_file(tmp_path):
    folder = _write_movielens(tmp_path / "ml")
    inter, items = data.read_movielens(folder, feedback="all")
    assert items.titles[1] == "American President, The (1995)"  # a quoted title with a comma
    assert items.tags == [["Adventure", "Animation"], ["Comedy", "Drama", "Romance"], []]
    assert inter.user_ids.tolist() == [3, 7] and inter.n_items == 3
    # sorted by (user, time): user 3 (dense 0) rated movie 20 at t=50 then movie 1 at t=60
    assert inter.user.tolist() == [0, 0, 1, 1]
    assert inter.item.tolist() == [2, 0, 0, 1] and inter.time.tolist() == [50, 60, 100, 300]
    assert inter.weight.tolist() == [5.0, 4.0, 3.0, 4.5]
    pos, _ = data.read_movielens(folder)  # ratings >= 4 only; user 7 keeps its index
    assert pos.item.tolist() == [2, 0, 1] and pos.n_users == 2
    assert [b.tolist() for b in pos.by_user()] == [[2, 0], [1]]
    with pytest.raises(ValueError, match="feedback='likes'"):
        data.read_movielens(folder, feedback="likes")


def test_movielens_rating_of_an_unknown_movie_is_a_data_error(tmp_path):
    folder = _write_movielens(tmp_path / "ml")
    with open(folder / "ratings.csv", "ab") as f:
        f.write(b"7,999,4.0,400\r\n")
    with pytest.raises(DataError, match="not in the catalogue, e.g. 999"):
        data.read_movielens(folder)


def test_ml_latest_small(need_data):
    need_data("movielens", "ml-latest-small/ratings.csv")
    inter, items = data.load_movielens(feedback="all")
    assert (len(inter), inter.n_users, len(items)) == (100_836, 610, 9_742)  # SOURCES.md's counts
    pos, _ = data.load_movielens()
    assert len(pos) == int((inter.weight >= 4).sum()) and pos.weight.min() == 4.0


def test_temporal_split_holds_out_each_users_last_fraction():
    # user 0: 5 interactions (times shuffled), user 1: 1 interaction, user 2: 3 with a tie in time
    user = np.array([0, 0, 0, 0, 0, 1, 2, 2, 2])
    item = np.array([4, 3, 2, 1, 0, 5, 7, 6, 8])
    time = np.array([50, 40, 30, 20, 10, 5, 1, 9, 9])
    inter = data.Interactions(user, item, time, np.ones(9, np.float32), np.arange(3), 9)
    train, test = data.temporal_split(inter, 0.3)
    # ceil(0.3 * 5) = 2 of user 0 (times 40, 50); user 1 only trains; ceil(0.9) = 1 of user 2: at t=9 the
    # tie is broken by item index, so item 8 (not 6) is last
    assert sorted(zip(test.user.tolist(), test.item.tolist(), strict=True)) == [(0, 3), (0, 4), (2, 8)]
    assert len(train) + len(test) == len(inter)
    for u in range(3):
        tr, te = train.time[train.user == u], test.time[test.user == u]
        assert len(tr) >= 1 and (len(te) == 0 or tr.max() <= te.min())
    with pytest.raises(ValueError, match="test_fraction=1"):
        data.temporal_split(inter, 1)
    train, test = data.leave_one_out(inter)
    assert sorted(zip(test.user.tolist(), test.item.tolist(), strict=True)) == [(0, 4), (2, 8)]


def test_splits_of_movielens_keep_every_user_in_training(need_data):
    need_data("movielens", "ml-latest-small/ratings.csv")
    inter, _ = data.load_movielens()
    train, test = data.temporal_split(inter, 0.2)
    n = np.bincount(inter.user, minlength=inter.n_users)
    assert np.array_equal(
        np.bincount(test.user, minlength=inter.n_users), np.where(n >= 2, np.ceil(0.2 * n), 0)
    )
    last_train = np.full(inter.n_users, -1)
    np.maximum.at(last_train, train.user, train.time)
    assert (test.time >= last_train[test.user]).all()  # nobody's test is older than their training


def test_hm_reader(tmp_path):
    (tmp_path / "articles.csv").write_text(
        "article_id,product_code,prod_name,product_type_name,product_group_name,colour_group_name,"
        "index_group_name\n0108775015,0108775,Strap top,Vest top,Garment Upper body,Black,Ladieswear\n"
        "0110065001,0110065,OP T-shirt,Bra,Underwear,White,Ladieswear\n"
    )
    (tmp_path / "customers.csv").write_text(
        "customer_id,FN,Active,club_member_status,fashion_news_frequency,age,postal_code\n"
        "00000dbacae5abe5,,,ACTIVE,NONE,49,52043ee2\n0000423b00ade9141,1.0,1.0,ACTIVE,Regularly,,2973abc5\n"
    )
    (tmp_path / "transactions_train.csv").write_text(
        "t_dat,customer_id,article_id,price,sales_channel_id\n"
        "2018-09-21,0000423b00ade9141,0110065001,0.0338,2\n2018-09-20,00000dbacae5abe5,0108775015,0.0508,2\n"
        "2018-09-20,00000dbacae5abe5,0110065001,0.0169,1\n"
    )
    inter, items = data.read_hm(tmp_path)
    assert items.ids.tolist() == ["0108775015", "0110065001"]  # the leading zero is kept
    assert items.tags[0] == ["Vest top", "Garment Upper body", "Black", "Ladieswear"]
    assert inter.user_ids.tolist() == ["00000dbacae5abe5", "0000423b00ade9141"]
    assert inter.user.tolist() == [0, 0, 1] and inter.item.tolist() == [0, 1, 1]
    assert inter.time[2] - inter.time[0] == 86400  # one day apart
    age = inter.user_features["age"]
    assert age[0] == 49 and np.isnan(age[1])
    # files of another shape, or a date that does not parse: one DataError naming the folder
    tx = (tmp_path / "transactions_train.csv").read_text()
    (tmp_path / "transactions_train.csv").write_text(tx.replace("2018-09-21", "21/09/2018"))
    with pytest.raises(DataError, match="does not hold H&M's files as Kaggle ships them .ValueError"):
        data.read_hm(tmp_path)
    (tmp_path / "articles.csv").write_text("id,name\n1,top\n")
    with pytest.raises(DataError, match="KeyError: 'article_id'"):
        data.read_hm(tmp_path)


def test_otto_reader(tmp_path):
    lines = [
        {"session": 12, "events": [{"aid": 30, "ts": 1659304800000, "type": "clicks"},
                                   {"aid": 7, "ts": 1659304900000, "type": "carts"}]},
        {"session": 3, "events": [{"aid": 7, "ts": 1659304800500, "type": "orders"}]},
    ]  # fmt: skip
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(json.dumps(s) for s in lines) + "\n")
    inter, items = data.read_otto(path, {"carts": 3.0, "orders": 6.0})
    assert inter.user_ids.tolist() == [3, 12] and items.ids.tolist() == [7, 30]
    assert inter.user.tolist() == [0, 1, 1] and inter.item.tolist() == [0, 1, 0]
    assert inter.weight.tolist() == [6.0, 1.0, 3.0] and inter.time[1] == 1659304800
    clicks_only, _ = data.read_otto(path, {"carts": 0, "orders": 0})
    assert len(clicks_only) == 1
    with pytest.raises(ValueError, match="views"):
        data.read_otto(path, {"views": 1.0})
    path.write_text(path.read_text() + '{"session": 4}\n')
    with pytest.raises(DataError, match=r"test.jsonl:3: not an OTTO session line"):
        data.read_otto(path)
